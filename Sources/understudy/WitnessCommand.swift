import UnderstudyCore
import ArgumentParser
import Logging
import ServiceLifecycle
import UnderstudyServer
import UnderstudyConfiguration
import UnixSignals

/// `understudy witness`: the third vote of a pair. Only parses flags and wires the service.
struct WitnessCommand: AsyncParsableCommand, ConfigurableCommand {
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

    @Option(help: "The master name Redis Sentinel clients ask the witness's port for (SENTINEL get-master-addr-by-name NAME).")
    var clusterName: String = "understudy"

    @Option(help: "A node the witness has not heard from for this long is reported down (s_down) to Sentinel clients, e.g. 1s, 800ms.")
    var sentinelDownAfter: String = "1s"

    @Option(help: "A file whose first line is the cluster's shared secret (as the nodes' --cluster-secret-file): WITNESS requests are then taken only from nodes that prove it.")
    var clusterSecretFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @OptionGroup(title: "Configuration")
    var configurationOptions: ConfigurationOptions
    @Option(help: "Log line format: text, or json (one JSON object per line).")
    var logFormat: LogFormat = .text

    @Option(help: "Admin HTTP address, HOST:PORT (health, liveness, cluster, history, events, metrics); none without it.")
    var admin: ListenAddress?

    @OptionGroup(title: "TLS (see docs/security.md)")
    var tlsOptions: TLSServerOptions

    func validate() throws {
        let names = parsedNodes
        guard names.count == 2, names[0] != names[1] else {
            throw ValidationError("--nodes must name exactly two different data nodes, HOST:PORT,HOST:PORT (got '\(nodes)')")
        }
        for name in names where ListenAddress(parsing: name) == nil {
            throw ValidationError("--nodes: '\(name)' is not HOST:PORT")
        }
        try validateClusterName(clusterName)
        guard let downAfter = DurationText.milliseconds(sentinelDownAfter), downAfter > 0 else {
            throw ValidationError("--sentinel-down-after must be a positive duration such as 1s or 800ms (got '\(sentinelDownAfter)')")
        }
    }

    private var parsedNodes: [String] {
        nodes.split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        let logger = makeLogger(label: "understudy.witness", level: logLevel, format: logFormat)
        let metrics = MetricsExposition.bootstrap()
        var configuration = WitnessConfiguration(
            dataDirectory: dataDir, host: listen.host, port: listen.port,
            nodes: parsedNodes.compactMap { ListenAddress(parsing: $0).map { "\($0)" } })
        configuration.metricsExposition = { metrics.render() }
        configuration.clusterName = clusterName
        configuration.clusterSecret = try clusterSecretFile.map { try ClusterSecretFile.load(path: $0, logger: logger) }
        configuration.sentinelDownAfterMilliseconds = DurationText.milliseconds(sentinelDownAfter) ?? 1_000
        configuration.adminAddress = admin
        configuration.tls = try tlsOptions.contexts()
        let service = WitnessService(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)] + TLSReloadOnHangup.entry(configuration.tls, logger: logger),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// `--cluster-name` (server and witness): one word, as Sentinel clients send it.
func validateClusterName(_ name: String) throws {
    guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else {
        throw ValidationError("--cluster-name must be one word without spaces (got '\(name)')")
    }
}
