/// Gathers one command's settings from its command line, the environment and a config
/// file, checks every key against the command's own flags, and produces the arguments
/// ArgumentParser then parses and validates as if they had all been typed.
///
/// Precedence, highest first: command line, environment (`UNDERSTUDY_*`), config file,
/// built-in default. The file is named by `--config FILE` or `UNDERSTUDY_CONFIG`.
public struct ConfigurationResolver: Sendable {
    /// The key naming the config file: on the command line or in the environment, never in a file.
    public static let configKey = "config"
    /// Keys only the command line may give.
    public static let commandLineOnlyKeys: Set<String> = ["print-config"]
    /// `UNDERSTUDY_*` names that belong to tools around `understudy` rather than to any
    /// command (the test harness's path to the binary); ignored, not refused.
    public static let reservedEnvironmentNames: Set<String> = ["UNDERSTUDY_BIN"]

    public var options: CommandOptions
    /// Keys of the program's other subcommands: an environment variable for one of them
    /// (a witness's `UNDERSTUDY_NODES` in a server's environment) is ignored, not refused.
    public var otherCommandsKeys: Set<String>

    /// Keys the command line must not give (`ConfigurableCommand.commandLineForbiddenKeys`).
    public var commandLineForbiddenKeys: Set<String>

    public init(options: CommandOptions, otherCommandsKeys: Set<String>, commandLineForbiddenKeys: Set<String> = []) {
        self.options = options
        self.otherCommandsKeys = otherCommandsKeys
        self.commandLineForbiddenKeys = commandLineForbiddenKeys
    }

    /// - Parameters:
    ///   - commandLine: the arguments after the subcommand's name.
    ///   - readFile: returns a file's text; throws with the reason it cannot.
    /// - Throws: `ConfigurationError` naming the source, the key and the reason.
    public func resolve(
        commandLine: [String], environment: [String: String], readFile: (String) throws -> String
    ) throws -> EffectiveConfiguration {
        let fromCommandLine = commandLineSettings(commandLine)
        if let forbidden = fromCommandLine.first(where: { commandLineForbiddenKeys.contains($0.key) }) {
            throw ConfigurationError(
                "--\(forbidden.key) cannot be given on the command line, where any user can read it (ps): put it in the config file "
                    + "(key '\(forbidden.key)') or in \(ConfigurationKey.environmentName(forKey: forbidden.key)), or use a file option such as --\(forbidden.key)-file")
        }
        let fromEnvironment = try environmentSettings(environment)
        let configPath = (fromEnvironment + fromCommandLine).last { $0.key == Self.configKey }?.values.last  // the command line wins
        var fromFile: [ConfigurationSetting] = []
        if let configPath {
            let text: String
            do {
                text = try readFile(configPath)
            } catch {
                throw ConfigurationError("config file \(configPath): cannot read it: \(error)")
            }
            fromFile = try fileSettings(ConfigurationFile(path: configPath, text: text))
        }
        let defaults = options.options.map {
            ConfigurationSetting(key: $0.key, values: $0.defaultValue.map { [$0] } ?? [], source: .defaultValue)
        }
        let merged = ConfigurationSetting.merge([defaults, fromFile, fromEnvironment, fromCommandLine])
        var injected: [String] = []
        for option in options.options where option.key != Self.configKey {
            guard let setting = merged[option.key], setting.source.isOutsideCommandLine else { continue }
            injected += try arguments(for: setting, option: option)
        }
        return EffectiveConfiguration(
            commandName: options.commandName, options: options.options,
            settings: options.options.compactMap { merged[$0.key] }, configPath: configPath,
            arguments: [options.commandName] + injected + commandLine)
    }

    /// The keys the command line sets, with their values (`true` for a flag).
    func commandLineSettings(_ commandLine: [String]) -> [ConfigurationSetting] {
        var settings: [ConfigurationSetting] = []
        var index = 0
        while index < commandLine.count {
            let token = commandLine[index]
            index += 1
            if token == "--" { break }
            guard token.hasPrefix("-"), let option = options.option(forCommandLineToken: token) else { continue }
            // A flag says true by its name, false by its inversion (`--no-key`).
            var value = option.disablingNames.contains(token) ? "false" : "true"
            if let equals = token.firstIndex(of: "=") {
                value = String(token[token.index(after: equals)...])
            } else if option.kind == .option, index < commandLine.count {
                value = commandLine[index]
                index += 1
            }
            if let existing = settings.firstIndex(where: { $0.key == option.key }), option.isRepeating {
                settings[existing].values.append(value)
            } else {
                settings.removeAll { $0.key == option.key }
                settings.append(ConfigurationSetting(key: option.key, values: [value], source: .commandLine))
            }
        }
        return settings
    }

    /// `UNDERSTUDY_*` variables naming this command's flags. One that names no flag of any
    /// subcommand is refused: it is most likely a typo that would otherwise go unnoticed.
    func environmentSettings(_ environment: [String: String]) throws -> [ConfigurationSetting] {
        var settings: [ConfigurationSetting] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            guard let key = ConfigurationKey.key(forEnvironmentName: name), !Self.reservedEnvironmentNames.contains(name) else { continue }
            if Self.commandLineOnlyKeys.contains(key) {
                throw ConfigurationError("environment variable \(name): --\(key) may be given only on the command line")
            }
            guard options.option(forKey: key) != nil else {
                if otherCommandsKeys.contains(key) { continue }
                let suggestion = KeySuggestion.nearest(to: key, among: options.keys).map {
                    " (did you mean \(ConfigurationKey.environmentName(forKey: $0))?)"
                }
                throw ConfigurationError(
                    "environment variable \(name) names no flag of 'understudy \(options.commandName)'\(suggestion ?? "")")
            }
            settings.append(ConfigurationSetting(key: key, values: [value], source: .environment(name: name)))
        }
        return settings
    }

    /// A file must be exact: every key must be a flag of this command.
    func fileSettings(_ file: ConfigurationFile) throws -> [ConfigurationSetting] {
        try file.entries.map { entry in
            let context = "config file \(file.path): line \(entry.line): key '\(entry.key)'"
            if entry.key == Self.configKey || Self.commandLineOnlyKeys.contains(entry.key) {
                throw ConfigurationError("\(context): cannot be set in a config file, only on the command line")
            }
            guard let option = options.option(forKey: entry.key) else {
                let suggestion = KeySuggestion.nearest(to: entry.key, among: options.keys).map { " (did you mean '\($0)'?)" }
                throw ConfigurationError(
                    "config file \(file.path): unknown key '\(entry.key)'\(suggestion ?? "") on line \(entry.line): "
                        + "'understudy \(options.commandName)' has no flag --\(entry.key)")
            }
            if entry.values.count != 1, !option.isRepeating {
                throw ConfigurationError("\(context): takes one value, not a list")
            }
            return ConfigurationSetting(key: entry.key, values: entry.values, source: .file(path: file.path))
        }
    }

    /// The command-line tokens that give `setting` to ArgumentParser.
    func arguments(for setting: ConfigurationSetting, option: CommandOption) throws -> [String] {
        switch option.kind {
        case .option:
            return setting.values.flatMap { ["--\(option.key)", $0] }
        case .flag:
            guard let value = setting.values.last, let enabled = Self.boolean(value) else {
                throw ConfigurationError(
                    "\(setting.source): --\(option.key) is a flag: its value must be true or false (got '\(setting.values.joined(separator: ","))')")
            }
            // An inverted flag (`--no-key`) can say false; a plain one is false by being absent.
            let name = enabled
                ? option.commandLineNames.first { $0.hasPrefix("--") && !option.disablingNames.contains($0) }
                : option.disablingNames.first { $0.hasPrefix("--") }
            return name.map { [$0] } ?? []
        }
    }

    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}
