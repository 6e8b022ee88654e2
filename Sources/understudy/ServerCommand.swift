public import ArgumentParser
public import Logging
import ServiceLifecycle
public import UnderstudyServer
public import UnderstudyCore
import UnixSignals
import UnderstudyWire

/// `understudy server`: runs one data node. Only parses flags and wires the service.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run a data node: keys in memory, every write in the write-ahead log, RESP2 and RESP3 on --listen."
    )

    @Option(help: "Directory for the write-ahead log and snapshots (created if missing).")
    var dataDir: String

    @Option(help: "Client address, HOST:PORT.")
    var listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 6380)

    @Option(help: "When the log is forced to disk: always (reply after fdatasync), everysec, no.")
    var fsync: FsyncPolicy = .always

    @Option(help: "Largest bulk string a client may send, in bytes.")
    var maxBulkBytes: Int = RESPLimits().maxBulkBytes

    @Option(help: "Largest request (all its arguments and framing), in bytes.")
    var maxRequestBytes: Int = RESPLimits().maxRequestBytes

    @Option(help: "Most arguments in one request, the command name included.")
    var maxArguments: Int = RESPLimits().maxArguments

    @Option(help: "Most client connections at once; one more is refused with an error.")
    var maxConnections: Int = 10_000

    @Option(help: "Size at which a new WAL segment file is started, in bytes.")
    var walSegmentBytes: Int64 = 64 << 20

    @Option(help: "WAL bytes since the last snapshot that start a new background snapshot.")
    var snapshotThresholdBytes: Int64 = 64 << 20

    @Option(help: "Bytes of WAL covered by a snapshot that are kept anyway (for standby catch-up).")
    var walRetentionBytes: Int64 = 256 << 20

    @Option(help: "The other node's client address, HOST:PORT: makes this node one of a primary-standby pair.")
    var peer: ListenAddress?

    @Option(help: "With --peer: sync (a reply only once the standby has the write on disk) or async.")
    var replication: ReplicationMode = .sync

    @Option(help: "With --peer: this node's role, primary or standby (default primary). With --witness only a hint for a new cluster.")
    var role: ReplicationRole?

    @Option(help: "With --peer: the witness's address, HOST:PORT. Roles are then decided by the cluster and failover is automatic.")
    var witness: ListenAddress?

    @Option(help: "How often the primary sends heartbeats to the standby and the witness (e.g. 100ms).")
    var heartbeatInterval: String = "100ms"

    @Option(help: "With --witness: how long the standby goes without a heartbeat before it starts a failover (e.g. 1s).")
    var failureTimeout: String = "1s"

    @Option(help: "With --witness: how long a heartbeat acknowledged by a voter lets the primary acknowledge writes (e.g. 500ms).")
    var lease: String = "500ms"

    @Option(help: "With --witness, async mode: the most a standby may lag (bytes, or with KB/MB/GB) and still be promoted automatically.")
    var maxLagOnFailover: String = "1MB"

    @Option(help: "How long a sync-mode write waits for the standby before it fails with NOREPLICAS (e.g. 5s, 500ms).")
    var syncTimeout: String = "5s"

    @Option(help: "Writes that may wait for the standby at once; more are refused with NOREPLICAS.")
    var maxWaitingWrites: Int = 10_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        for (name, value) in [
            ("--max-bulk-bytes", maxBulkBytes), ("--max-request-bytes", maxRequestBytes),
            ("--max-arguments", maxArguments), ("--max-connections", maxConnections),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
        guard walSegmentBytes >= 4096 else { throw ValidationError("--wal-segment-bytes must be at least 4096") }
        guard snapshotThresholdBytes >= 1 else { throw ValidationError("--snapshot-threshold-bytes must be positive") }
        guard walRetentionBytes >= 0 else { throw ValidationError("--wal-retention-bytes must not be negative") }
        guard let timeout = DurationText.milliseconds(syncTimeout), timeout > 0 else {
            throw ValidationError("--sync-timeout must be a positive duration such as 5s or 500ms (got '\(syncTimeout)')")
        }
        guard maxWaitingWrites >= 1 else { throw ValidationError("--max-waiting-writes must be at least 1") }
        let settings = try coordinationSettings()
        if let problem = settings.problem { throw ValidationError(problem) }
        if witness != nil, peer == nil { throw ValidationError("--witness needs --peer (the other data node's address)") }
        if let peer, peer.host == listen.host, peer.port == listen.port {
            throw ValidationError("--peer must name the other node, not this node's --listen address")
        }
    }

    func run() async throws {
        let logger = makeLogger(label: "understudy.server", level: logLevel)
        var limits = RESPLimits()
        limits.maxBulkBytes = maxBulkBytes
        limits.maxRequestBytes = maxRequestBytes
        limits.maxArguments = maxArguments
        var configuration = ServerConfiguration(
            dataDirectory: dataDir, host: listen.host, port: listen.port, fsyncPolicy: fsync,
            wireLimits: limits, maxConnections: maxConnections, walSegmentMaxBytes: walSegmentBytes,
            snapshotThresholdBytes: snapshotThresholdBytes, walRetentionBytes: walRetentionBytes)
        if let peer {
            let settings = try coordinationSettings()
            var pair = ReplicationConfiguration(
                peer: peer, mode: replication, role: role ?? .primary,
                syncTimeoutMilliseconds: DurationText.milliseconds(syncTimeout) ?? 5_000,
                maxWaitingWrites: maxWaitingWrites,
                heartbeatIntervalMilliseconds: settings.heartbeatIntervalMilliseconds)
            pair.witness = witness
            pair.roleHint = role
            pair.failureTimeoutMilliseconds = settings.failureTimeoutMilliseconds
            pair.leaseMilliseconds = settings.leaseMilliseconds
            pair.maxLagOnFailoverBytes = settings.maxLagOnFailoverBytes
            configuration.replication = pair
        }
        let service = DataNodeService(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

extension ServerCommand {
    /// The failover timing flags, parsed.
    func coordinationSettings() throws -> CoordinationSettings {
        func duration(_ flag: String, _ text: String) throws -> Int64 {
            guard let milliseconds = DurationText.milliseconds(text), milliseconds > 0 else {
                throw ValidationError("\(flag) must be a positive duration such as 100ms or 1s (got '\(text)')")
            }
            return milliseconds
        }
        guard let maxLag = ByteSizeText.bytes(maxLagOnFailover) else {
            throw ValidationError("--max-lag-on-failover must be a size such as 1048576, 512KB or 1MB (got '\(maxLagOnFailover)')")
        }
        return CoordinationSettings(
            mode: replication, heartbeatIntervalMilliseconds: try duration("--heartbeat-interval", heartbeatInterval),
            failureTimeoutMilliseconds: try duration("--failure-timeout", failureTimeout),
            leaseMilliseconds: try duration("--lease", lease), maxLagOnFailoverBytes: maxLag)
    }
}

extension FsyncPolicy: ExpressibleByArgument {}

extension ReplicationMode: ExpressibleByArgument {}

extension ReplicationRole: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Logs to stderr, one line per event.
func makeLogger(label: String, level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: label)
    logger.logLevel = level
    return logger
}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }

    public var defaultValueDescription: String { description }
}
