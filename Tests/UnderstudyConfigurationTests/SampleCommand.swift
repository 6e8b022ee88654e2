import ArgumentParser
import UnderstudyConfiguration

/// A command shaped like `understudy server`, with every kind of flag the mechanism must
/// cover: required and defaulted options, a plain and an inverted flag, a repeating option
/// and an option group.
struct SampleCommand: ParsableCommand, ConfigurableCommand {
    static let configuration = CommandConfiguration(commandName: "sample")
    static let secretConfigurationKeys: Set<String> = ["password"]

    @Option var dataDir: String
    @Option var lease: Int = 500
    @Option var failureTimeout: Int = 1_000
    @Option var password: String?
    @Flag var verbose = false
    @Flag(inversion: .prefixedNo) var checksums = true
    @Option var tag: [String] = []
    @OptionGroup var configurationOptions: ConfigurationOptions

    func validate() throws {
        guard lease < failureTimeout else {
            throw ValidationError("--lease must be shorter than --failure-timeout")
        }
    }
}

/// Another subcommand of the same program, whose keys a sample's environment may hold.
struct OtherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "other")
    @Option var nodes: String
}

enum Sample {
    static func resolver() throws -> ConfigurationResolver {
        ConfigurationResolver(options: try CommandOptions(of: SampleCommand.self), otherCommandsKeys: ["nodes"])
    }

    /// Resolves with `files` as the only readable files.
    static func resolve(
        _ commandLine: [String], environment: [String: String] = [:], files: [String: String] = [:]
    ) throws -> EffectiveConfiguration {
        try resolver().resolve(commandLine: commandLine, environment: environment) { path in
            guard let text = files[path] else { throw ConfigurationError("no such file") }
            return text
        }
    }

    /// What ArgumentParser makes of the resolved arguments (the subcommand's name dropped).
    static func parse(_ configuration: EffectiveConfiguration) throws -> SampleCommand {
        try SampleCommand.parse(Array(configuration.arguments.dropFirst()))
    }
}
