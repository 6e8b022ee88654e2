import ArgumentParser
import UnderstudyConfiguration

@main
struct Understudy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understudy",
        abstract: "A replicated primary-standby key-value store that speaks RESP2 and RESP3.",
        subcommands: [
            ServerCommand.self, WitnessCommand.self, LocalCommand.self, StatusCommand.self, SwitchoverCommand.self,
            PromoteCommand.self, DrainCommand.self,
        ]
    )

    /// ArgumentParser's entry point, with config files and `UNDERSTUDY_*` variables for the
    /// `ConfigurableCommand`s (server, witness).
    static func main() async {
        await ConfiguredLaunch.main(Understudy.self)
    }
}
