public import ArgumentParser
import Foundation

/// The program's entry point when some subcommands are `ConfigurableCommand`s: settings
/// from the file and the environment are turned into arguments *before* ArgumentParser
/// parses, so they go through the same parsing and `validate()` as typed flags.
public enum ConfiguredLaunch {
    /// Parses `arguments` (without the program name) for `Root`, adding a configurable
    /// subcommand's file and environment settings; prints the configuration for
    /// `--print-config`; otherwise runs the command. Errors exit as ArgumentParser's own
    /// `main` would, with the source of every file or environment value they mention.
    /// `arguments` and `environment` default to the process's own.
    public static func main<Root: AsyncParsableCommand>(
        _ root: Root.Type, arguments: [String]? = nil, environment: [String: String]? = nil
    ) async {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let name = arguments.first,
              let command = root.configuration.subcommands.first(where: { $0._commandName == name }),
              let configurable = command as? any ConfigurableCommand.Type,
              // Help must work even while the file or the environment is wrong.
              !arguments.contains(where: { ["-h", "--help", "--experimental-dump-help"].contains($0) })
        else {
            await root.main(arguments)
            return
        }
        let effective: EffectiveConfiguration
        do {
            let others = root.configuration.subcommands.filter { ObjectIdentifier($0) != ObjectIdentifier(command) }
            let otherKeys = try others.flatMap { try CommandOptions(of: $0).keys }
            let resolver = ConfigurationResolver(
                options: try CommandOptions(of: command), otherCommandsKeys: Set(otherKeys),
                commandLineForbiddenKeys: configurable.commandLineForbiddenKeys)
            effective = try resolver.resolve(
                commandLine: Array(arguments.dropFirst()), environment: environment,
                readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
        } catch {
            printError("understudy: \(error)")
            root.exit(withError: ExitCode.validationFailure)
        }
        var parsed: any ParsableCommand
        do {
            parsed = try await root.asyncParseAsRoot(effective.arguments)
        } catch {
            let message = root.message(for: error)
            if root.exitCode(for: error) != .success, let sources = effective.sourcesOfKeys(mentionedIn: message) {
                printError("understudy \(name): invalid configuration: \(message)\n" + sources.map { "  \($0)" }.joined(separator: "\n"))
                root.exit(withError: root.exitCode(for: error))
            }
            root.exit(withError: error)
        }
        if let configured = parsed as? any ConfigurableCommand, configured.configurationOptions.printConfig {
            print(effective.renderedAsFile(
                secretKeys: configurable.secretConfigurationKeys.union(configurable.commandLineForbiddenKeys)), terminator: "")
            return
        }
        do {
            if var asyncCommand = parsed as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try parsed.run()
            }
        } catch {
            root.exit(withError: error)
        }
    }

    private static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
