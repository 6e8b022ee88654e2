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
        abstract: "Run a data node: keys in memory, every write in the write-ahead log, RESP2 on --listen."
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

    @Option(help: "With --peer: this node's role, primary or standby.")
    var role: ReplicationRole = .primary

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
            configuration.replication = ReplicationConfiguration(
                peer: peer, mode: replication, role: role,
                syncTimeoutMilliseconds: DurationText.milliseconds(syncTimeout) ?? 5_000,
                maxWaitingWrites: maxWaitingWrites)
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
