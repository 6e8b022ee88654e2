public import ArgumentParser
import Foundation

/// One flag a command declares, as a config file and the environment can set it.
public struct CommandOption: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `--key VALUE`.
        case option
        /// `--key` alone: a Boolean, `true` or `false` in a file or the environment.
        case flag
    }

    /// The preferred long name without `--`: the key in a file, the root of the env name.
    public var key: String
    /// Every name the command line accepts for it, with its dashes (`--data-dir`, `-d`).
    public var commandLineNames: [String]
    /// The names among `commandLineNames` that set an inverted flag false (`--no-checksums`,
    /// `--disable-checksums`).
    public var disablingNames: [String] = []
    public var kind: Kind
    /// Whether it may be given more than once (a list in a file).
    public var isRepeating: Bool
    /// The default as ArgumentParser prints it in `--help`; nil when there is none.
    public var defaultValue: String?
    public var abstract: String?

    public init(key: String, commandLineNames: [String], kind: Kind, isRepeating: Bool = false,
                defaultValue: String? = nil, abstract: String? = nil) {
        self.key = key
        self.commandLineNames = commandLineNames
        self.kind = kind
        self.isRepeating = isRepeating
        self.defaultValue = defaultValue
        self.abstract = abstract
    }
}

/// The flags one command declares, read from its own ArgumentParser definition.
///
/// Why `_dumpHelp()`: it is the in-process form of `--experimental-dump-help`, the versioned
/// JSON (`ToolInfoV0`) that ArgumentParser's own manual and documentation plugins read. It
/// lists every `@Option` and `@Flag`, those inside `@OptionGroup`s too, with custom names,
/// defaults and visibility exactly as the parser sees them. Reflecting over property
/// wrappers would have to guess names from Swift identifiers, and parsing the `--help`
/// text would break with its layout. The JSON's `serializationVersion` is checked, so an
/// ArgumentParser that changed the format fails loudly at start instead of silently
/// accepting nothing.
public struct CommandOptions: Sendable {
    /// Names ArgumentParser adds to every command; never configuration.
    public static let builtInKeys: Set<String> = ["help", "version", "experimental-dump-help"]

    public var commandName: String
    /// In declaration order (the order of `--help` and `--print-config`).
    public var options: [CommandOption]

    public init(commandName: String, options: [CommandOption]) {
        self.commandName = commandName
        self.options = options
    }

    /// The flags of `command`.
    /// - Throws: `ConfigurationError` when ArgumentParser's description cannot be read.
    public init(of command: any ParsableCommand.Type) throws {
        try self.init(dumpHelpJSON: command._dumpHelp())
    }

    /// Reads ArgumentParser's `ToolInfoV0` JSON (only the fields used here).
    /// - Throws: `ConfigurationError` for another serialization version or malformed JSON.
    public init(dumpHelpJSON: String) throws {
        let toolInfo: ToolInfo
        do {
            toolInfo = try JSONDecoder().decode(ToolInfo.self, from: Data(dumpHelpJSON.utf8))
        } catch {
            throw ConfigurationError("cannot read the command's flag definitions from ArgumentParser: \(error)")
        }
        guard toolInfo.serializationVersion == 0 else {
            throw ConfigurationError(
                "ArgumentParser describes commands in format version \(toolInfo.serializationVersion); this build reads version 0")
        }
        var options: [CommandOption] = []
        for argument in toolInfo.command.arguments ?? [] where argument.kind != "positional" {
            let declaredNames = argument.names ?? []
            let preferredLongName = argument.preferredName.flatMap { $0.kind == "long" ? $0.name : nil }
            // A flag with only a short name has no key; none of ours is like that.
            guard let longName = preferredLongName ?? declaredNames.first(where: { $0.kind == "long" })?.name,
                  !Self.builtInKeys.contains(longName)
            else { continue }
            let names = declaredNames.map { ($0.kind == "long" ? "--" : "-") + $0.name }
            if argument.kind == "flag", let positive = Self.positiveIndex(ofInversion: longName, in: options) {
                options[positive].commandLineNames += names
                options[positive].disablingNames += names
                options[positive].key = Self.inversionBase(longName) ?? longName
                continue
            }
            options.append(CommandOption(
                key: longName,
                commandLineNames: names,
                kind: argument.kind == "flag" ? .flag : .option,
                isRepeating: argument.isRepeating, defaultValue: argument.defaultValue, abstract: argument.abstract))
        }
        self.init(commandName: toolInfo.command.commandName, options: options)
    }

    public var keys: [String] { options.map(\.key) }

    /// `checksums` for `no-checksums` and `disable-checksums`: an inverted flag's name
    /// without its negative prefix.
    static func inversionBase(_ name: String) -> String? {
        for prefix in ["no-", "disable-"] where name.hasPrefix(prefix) { return String(name.dropFirst(prefix.count)) }
        return nil
    }

    /// ArgumentParser lists the two halves of `@Flag(inversion:)` as two flags, the
    /// positive one first; this finds the positive one `name` negates, so the pair is one key.
    private static func positiveIndex(ofInversion name: String, in options: [CommandOption]) -> Int? {
        guard let base = inversionBase(name) else { return nil }
        let positiveName = name.hasPrefix("no-") ? base : "enable-" + base
        return options.firstIndex { $0.kind == .flag && $0.key == positiveName && $0.disablingNames.isEmpty }
    }

    public func option(forKey key: String) -> CommandOption? {
        options.first { $0.key == key }
    }

    /// The option a command-line token such as `--data-dir` or `--data-dir=x` names.
    public func option(forCommandLineToken token: String) -> CommandOption? {
        let name = token.split(separator: "=", maxSplits: 1).first.map(String.init) ?? token
        return options.first { $0.commandLineNames.contains(name) }
    }
}

/// The part of ArgumentParser's `ToolInfoV0` read here (its module is not a product).
private struct ToolInfo: Decodable {
    struct Command: Decodable {
        var commandName: String
        var arguments: [Argument]?
    }

    struct Argument: Decodable {
        struct Name: Decodable {
            var kind: String
            var name: String
        }

        var kind: String
        var isRepeating: Bool
        var names: [Name]?
        var preferredName: Name?
        var defaultValue: String?
        var abstract: String?
    }

    var serializationVersion: Int
    var command: Command
}
