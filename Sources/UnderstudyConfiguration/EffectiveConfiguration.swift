import Foundation

/// What a command will run with: every key's value and where it came from, and the
/// arguments that carry it to ArgumentParser.
public struct EffectiveConfiguration: Sendable {
    public var commandName: String
    public var options: [CommandOption]
    /// One per option that has a value or a default, in declaration order.
    public var settings: [ConfigurationSetting]
    /// The config file read, if any.
    public var configPath: String?
    /// The subcommand's name, then the settings from the file and the environment as
    /// flags, then the command line as given: what the root command parses.
    public var arguments: [String]

    /// A placeholder printed instead of a secret's value.
    public static let redacted = "<redacted>"

    public func setting(forKey key: String) -> ConfigurationSetting? {
        settings.first { $0.key == key }
    }

    /// The configuration as a YAML file that `--config` reads back, each key with its
    /// source in a comment. Keys in `secretKeys` are printed as `<redacted>` (a file
    /// printed so does not round-trip them: their real values must be put back by hand).
    /// Keys that are not set anywhere and have no default are listed as comments.
    public func renderedAsFile(secretKeys: Set<String> = []) -> String {
        var lines = [
            "# Effective configuration of 'understudy \(commandName)'; read back with --config FILE.",
            "# Precedence: command line > environment (UNDERSTUDY_*) > config file > default.",
        ]
        if let configPath { lines.append("# Config file: \(configPath)") }
        for option in options
        where option.key != ConfigurationResolver.configKey && !ConfigurationResolver.commandLineOnlyKeys.contains(option.key) {
            guard let setting = setting(forKey: option.key), !setting.values.isEmpty else {
                lines.append("# \(option.key): not set")
                continue
            }
            let values = secretKeys.contains(option.key) ? [Self.redacted] : setting.values
            let text: String
            if option.kind == .flag {
                text = ConfigurationResolver.boolean(values.last ?? "false") == true ? "true" : "false"
            } else if option.isRepeating {
                text = "[" + values.map(Self.doubleQuoted).joined(separator: ", ") + "]"  // a comma would end a plain item
            } else {
                text = Self.quoted(values.last ?? "")
            }
            lines.append("\(option.key): \(text)  # \(setting.source)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// For an error message from ArgumentParser or a command's `validate()`: where each
    /// flag it mentions (`--lease`) got its value, one line per flag; nil when none of
    /// them came from a file or the environment (the message is then about the command
    /// line, and says enough as it is).
    public func sourcesOfKeys(mentionedIn message: String) -> [String]? {
        let mentioned = settings.filter { Self.mentions(message, key: $0.key) }
        guard mentioned.contains(where: { $0.source.isOutsideCommandLine }) else { return nil }
        return mentioned.map { setting in
            "--\(setting.key) = \(setting.values.map(Self.quoted).joined(separator: ", ")) (from \(setting.source))"
        }
    }

    /// Whether `message` names `--key` as a whole flag (`--lease`, not `--lease-x`).
    static func mentions(_ message: String, key: String) -> Bool {
        let words = message.split { !($0.isLetter || $0.isNumber || $0 == "-") }
        return words.contains { $0 == "--" + key }
    }

    /// Words a YAML reader might take for a Boolean or null if written plain.
    private static let plainLookalikes: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

    /// `text` as a YAML scalar: plain when that reads back as the same string
    /// (`127.0.0.1:6380`, `500ms`, `a:1,b:2`: a comma is plain outside a flow collection),
    /// double-quoted otherwise.
    static func quoted(_ text: String) -> String {
        let isPlainSafe = text.first.map { $0.isLetter || $0.isNumber || $0 == "/" } == true
            && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "._/:,-".contains($0) }
            && !plainLookalikes.contains(text.lowercased())
        return isPlainSafe ? text : doubleQuoted(text)
    }

    /// A YAML double-quoted string: a JSON string literal is one.
    static func doubleQuoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(text), as: UTF8.self)
        } catch {
            fatalError("Internal inconsistency: JSONEncoder cannot encode a String: \(error)")
        }
    }
}
