public import ArgumentParser
public import Logging
import ServiceLifecycle
public import UnderstudyServer
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
    }

    func run() async throws {
        let logger = makeLogger(label: "understudy.server", level: logLevel)
        var limits = RESPLimits()
        limits.maxBulkBytes = maxBulkBytes
        limits.maxRequestBytes = maxRequestBytes
        limits.maxArguments = maxArguments
        let configuration = ServerConfiguration(
            dataDirectory: dataDir, host: listen.host, port: listen.port, fsyncPolicy: fsync,
            wireLimits: limits, maxConnections: maxConnections, walSegmentMaxBytes: walSegmentBytes,
            snapshotThresholdBytes: snapshotThresholdBytes, walRetentionBytes: walRetentionBytes)
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
