import UnderstudyCore
import ArgumentParser
import Logging
import ServiceLifecycle
import UnderstudyServer
import UnixSignals

/// `understudy witness`: the third vote of a pair. Only parses flags and wires the service.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run the witness of a primary-standby pair: no user data, only the epoch, the primary and the standby's sync state."
    )

    @Option(help: "Directory for the witness's record (created if missing).")
    var dataDir: String

    @Option(help: "Address the nodes reach the witness on, HOST:PORT.")
    var listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 6390)

    @Option(help: "The two data nodes' --listen addresses, HOST:PORT,HOST:PORT.")
    var nodes: String

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log line format: text, or json (one JSON object per line).")
    var logFormat: LogFormat = .text

    @Option(help: "Admin HTTP address, HOST:PORT (health, liveness, cluster, history, events, metrics); none without it.")
    var admin: ListenAddress?

    func validate() throws {
        let names = parsedNodes
        guard names.count == 2, names[0] != names[1] else {
            throw ValidationError("--nodes must name exactly two different data nodes, HOST:PORT,HOST:PORT (got '\(nodes)')")
        }
        for name in names where ListenAddress(parsing: name) == nil {
            throw ValidationError("--nodes: '\(name)' is not HOST:PORT")
        }
    }

    private var parsedNodes: [String] {
        nodes.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let logger = makeLogger(label: "understudy.witness", level: logLevel, format: logFormat)
        var configuration = WitnessConfiguration(
            dataDirectory: dataDir, host: listen.host, port: listen.port,
            nodes: parsedNodes.compactMap { ListenAddress(parsing: $0).map { "\($0)" } })
        configuration.adminAddress = admin
        let service = WitnessService(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
