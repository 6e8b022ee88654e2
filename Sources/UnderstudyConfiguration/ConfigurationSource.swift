/// Where a setting's value came from. The cases are in precedence order, lowest first:
/// a command-line flag beats an environment variable, which beats a config file, which
/// beats the built-in default.
public enum ConfigurationSource: Hashable, Sendable, CustomStringConvertible {
    case defaultValue
    case file(path: String)
    case environment(name: String)
    case commandLine

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path): "config file \(path)"
        case .environment(let name): "environment variable \(name)"
        case .commandLine: "command line"
        }
    }

    /// Whether the value reached the command other than by its own command line, so that
    /// an error about it must say where it came from.
    public var isOutsideCommandLine: Bool {
        switch self {
        case .file, .environment: true
        case .defaultValue, .commandLine: false
        }
    }
}

/// One key's value and where it came from.
public struct ConfigurationSetting: Hashable, Sendable {
    public var key: String
    /// The text as given (several for a repeating option); empty when the key is not set
    /// anywhere and has no default.
    public var values: [String]
    public var source: ConfigurationSource

    public init(key: String, values: [String], source: ConfigurationSource) {
        self.key = key
        self.values = values
        self.source = source
    }

    /// Merges layers given lowest precedence first: for each key the last layer that sets
    /// it wins, whole (a list from the environment replaces a list from the file).
    public static func merge(_ layers: [[ConfigurationSetting]]) -> [String: ConfigurationSetting] {
        var merged: [String: ConfigurationSetting] = [:]
        for layer in layers {
            for setting in layer { merged[setting.key] = setting }
        }
        return merged
    }
}
