public import ArgumentParser
public import Logging
import ServiceLifecycle
public import UnderstudyServer
import UnderstudyConfiguration
public import UnderstudyCore
import UnixSignals
import UnderstudyWire

/// `understudy server`: runs one data node. Only parses flags and wires the service.
struct ServerCommand: AsyncParsableCommand, ConfigurableCommand {
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

    @Option(help: "Bytes of replies waiting for one client to read them (e.g. 256MB); past it the client is disconnected. Must exceed --max-bulk-bytes.")
    var clientOutputBufferLimit: String = "256MB"

    @Option(help: "Requests read and not yet answered on one connection; at this many it is not read from until one is answered.")
    var maxInflightPerConnection: Int = 1_024

    @Option(help: "Close a client connection that sent no request for this long (e.g. 300s); 0 never does.")
    var idleTimeout: String = "0"

    @Option(help: "Size of each WAL segment file, in bytes (the next one is preallocated, zero-filled, ahead of need).")
    var walSegmentBytes: Int64 = 16 << 20

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

    @OptionGroup(title: "Configuration")
    var configurationOptions: ConfigurationOptions

    @Option(help: "Log line format: text, or json (one JSON object per line).")
    var logFormat: LogFormat = .text

    @Option(help: "Admin HTTP address, HOST:PORT (health, role, cluster, events, metrics, switchover); none without it.")
    var admin: ListenAddress?

    @Option(help: "On a drain or SIGTERM: how long in-flight requests get to finish (e.g. 5s).")
    var drainTimeout: String = "5s"

    @Option(help: "The cluster's name, as the witness's --cluster-name: the 'scope' the admin port reports.")
    var clusterName: String = "understudy"

    @Option(help: "A file whose first line is the cluster's shared secret (32+ random bytes; chmod 600): replication, witness links and FENCE are then authenticated with it (docs/security.md).")
    var clusterSecretFile: String?

    @Option(help: "A file whose first non-blank line is the 'default' user's password: clients must AUTH (docs/security.md).")
    var passwordFile: String?

    @Option(help: "A file of users, one a line: 'username password [read-write|read-only]' ('#' comments).")
    var usersFile: String?

    @Option(help: "The 'default' user's password: only from the config file or UNDERSTUDY_PASSWORD, never on the command line.")
    var password: String?

    static var commandLineForbiddenKeys: Set<String> { ["password"] }

    @OptionGroup(title: "TLS (see docs/security.md)")
    var tlsOptions: TLSServerOptions

    func validate() throws {
        try validateClusterName(clusterName)
        guard DurationText.milliseconds(drainTimeout).map({ $0 > 0 }) == true else {
            throw ValidationError("--drain-timeout must be a positive duration such as 5s or 500ms (got '\(drainTimeout)')")
        }
        if let admin, admin.host == listen.host, admin.port == listen.port, admin.port != 0 {
            throw ValidationError("--admin must differ from --listen")
        }
        for (name, value) in [
            ("--max-bulk-bytes", maxBulkBytes), ("--max-request-bytes", maxRequestBytes),
            ("--max-arguments", maxArguments), ("--max-connections", maxConnections),
            ("--max-inflight-per-connection", maxInflightPerConnection),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
        _ = try connectionLimits()
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
        if passwordFile != nil, password != nil {
            throw ValidationError("--password-file and the password key (UNDERSTUDY_PASSWORD) both give the default user's password: keep one")
        }
        _ = try SecretFiles.userTable(passwordFile: passwordFile, password: password, usersFile: usersFile)
        if let peer, peer.host == listen.host, peer.port == listen.port {
            throw ValidationError("--peer must name the other node, not this node's --listen address")
        }
    }

    func run() async throws {
        let logger = makeLogger(label: "understudy.server", level: logLevel, format: logFormat)
        let metrics = MetricsExposition.bootstrap()
        var limits = RESPLimits()
        limits.maxBulkBytes = maxBulkBytes
        limits.maxRequestBytes = maxRequestBytes
        limits.maxArguments = maxArguments
        var configuration = ServerConfiguration(
            dataDirectory: dataDir, host: listen.host, port: listen.port, fsyncPolicy: fsync,
            wireLimits: limits, maxConnections: maxConnections, walSegmentMaxBytes: walSegmentBytes,
            snapshotThresholdBytes: snapshotThresholdBytes, walRetentionBytes: walRetentionBytes)
        configuration.metricsExposition = { metrics.render() }
        let connection = try connectionLimits()
        configuration.clientOutputBufferLimitBytes = connection.outputBufferLimitBytes
        configuration.idleTimeoutMilliseconds = connection.idleTimeoutMilliseconds
        configuration.maxInflightPerConnection = maxInflightPerConnection
        configuration.adminAddress = admin
        configuration.clusterName = clusterName
        configuration.clusterSecret = try clusterSecretFile.map { try ClusterSecretFile.load(path: $0, logger: logger) }
        configuration.drainTimeoutMilliseconds = DurationText.milliseconds(drainTimeout) ?? 5_000
        configuration.tls = try tlsOptions.contexts()
        let (users, warnings) = try SecretFiles.userTable(passwordFile: passwordFile, password: password, usersFile: usersFile)
        configuration.users = users
        for warning in warnings { logger.warning("\(warning)") }
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
                // `understudy drain` ends the service by itself: the process then exits 0.
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)]
                    + TLSReloadOnHangup.entry(configuration.tls, logger: logger),
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

extension ServerCommand {
    /// `--client-output-buffer-limit` and `--idle-timeout`, parsed and checked.
    ///
    /// The output limit has no "0 = unlimited": a client that never reads would then hold
    /// memory and a slot for ever. It must exceed `--max-bulk-bytes` so that any one value
    /// can be read back.
    func connectionLimits() throws -> (outputBufferLimitBytes: Int, idleTimeoutMilliseconds: Int64) {
        guard let outputLimit = ByteSizeText.bytes(clientOutputBufferLimit), outputLimit > maxBulkBytes else {
            throw ValidationError(
                "--client-output-buffer-limit must be a size such as 256MB, larger than --max-bulk-bytes (\(maxBulkBytes)) (got '\(clientOutputBufferLimit)')")
        }
        guard let idle = DurationText.milliseconds(idleTimeout) else {
            throw ValidationError("--idle-timeout must be a duration such as 300s or 0 for never (got '\(idleTimeout)')")
        }
        return (Int(outputLimit), idle)
    }
}

extension FsyncPolicy: ExpressibleByArgument {}

extension ReplicationMode: ExpressibleByArgument {}

extension ReplicationRole: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--log-format`: how log lines are written to stderr.
enum LogFormat: String, ExpressibleByArgument, Sendable {
    case text, json
}

/// Logs to stderr, one line per event (one JSON object per line with `--log-format json`).
func makeLogger(label: String, level: Logger.Level, format: LogFormat = .text) -> Logger {
    switch format {
    case .text: LoggingSystem.bootstrap(StreamLogHandler.standardError)
    case .json: LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
    }
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
