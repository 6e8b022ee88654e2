public import UnderstudyWire
public import UnderstudyCore
import CoreMetrics

/// Everything a data node needs to start, with the defaults an operator gets.
///
/// Every limit a client can hit lives here (and in `RESPLimits` for the wire), so that
/// there is one place to read and one place to test at limit + 1.
public struct ServerConfiguration: Sendable {
    public var dataDirectory: String
    public var host: String
    public var port: Int
    public var fsyncPolicy: FsyncPolicy
    /// Per-request wire limits (bulk length, argument count, request size).
    public var wireLimits: RESPLimits
    /// Client connections accepted at once; one more gets `-ERR max number of clients reached`.
    public var maxConnections: Int
    /// Bytes of replies written to one connection and not yet taken by the kernel; past it the
    /// connection is closed (`client_output_buffer_limit_disconnections`). The connection is
    /// read from while its replies wait, so a client that stops reading reaches the limit
    /// instead of holding its slot forever; a client that reads stays under it unless it
    /// pipelines more than this many bytes of replies ahead of its reading.
    public var clientOutputBufferLimitBytes: Int = 256 << 20
    /// Requests read and not yet answered on one connection; at this many the connection is
    /// not read from until one is answered (back-pressure, not a refusal).
    public var maxInflightPerConnection: Int = 1_024
    /// A client connection with no request for this long and none in progress is closed
    /// (`idle_timeout_disconnections`); 0 never closes one (Redis's `timeout`).
    public var idleTimeoutMilliseconds: Int64 = 0
    /// WAL segment size before a new segment file is started.
    public var walSegmentMaxBytes: Int64
    /// WAL bytes written since the last snapshot that trigger a new background snapshot.
    public var snapshotThresholdBytes: Int64
    /// Bytes of WAL already covered by a snapshot that are kept anyway (standby catch-up).
    public var walRetentionBytes: Int64
    /// How often expired keys are looked for and deleted (a logged deletion each).
    public var expiryCycleIntervalMilliseconds: Int64
    /// How many expired keys one expiry pass deletes at most.
    public var expiryCycleMaxKeys: Int
    /// The longest a written record waits for more company before its `fdatasync` starts
    /// under `--fsync always` (see `GroupCommitPolicy`).
    public var groupCommitMaxDelayNanoseconds: Int64 = 500_000
    /// The pair this node belongs to; nil for a standalone node.
    public var replication: ReplicationConfiguration?
    /// Renders the process's Prometheus exposition (`MetricsExposition.render`): answered
    /// to `METRICS`, served at `/metrics`. Nil: metrics are not exposed (`/metrics` is an empty 200).
    public var metricsExposition: (@Sendable () -> [UInt8])?
    /// Where the node's metrics go; nil: the process's bootstrapped `MetricsSystem.factory`
    /// (in-process tests pass a `TestMetrics`).
    var metricsFactory: (any MetricsFactory)?
    /// `--admin HOST:PORT`: the admin HTTP port (nil: none).
    public var adminAddress: ListenAddress?
    /// `--cluster-name`: the name the admin port reports as the cluster's `scope` (the
    /// witness gives the same name to Sentinel clients).
    public var clusterName = "understudy"
    /// `--cluster-secret-file`: when set, the replication link and FENCE are taken only from
    /// a peer that proved this secret, and this node proves it to its primary and witness
    /// (docs/security.md, "Peer authentication"). Nil: no peer authentication, as before.
    public var clusterSecret: ClusterSecret?
    /// `--drain-timeout`: how long in-flight requests get to finish on a drain or SIGTERM.
    public var drainTimeoutMilliseconds: Int64 = 5_000
    /// `--tls-*`: with it the client port speaks only TLS, and with `--tls-replication` so do
    /// the links this node dials (nil: plaintext everywhere).
    public var tls: TLSContexts?
    /// The users who may connect (`--password-file`, `--users-file`, `UNDERSTUDY_PASSWORD`);
    /// empty: no password, every connection is `default` (docs/security.md).
    public var users = UserTable()
    /// Called once with the bound port when the listener is up (in-process tests bind port 0).
    var onListening: (@Sendable (_ port: Int) -> Void)?

    public init(
        dataDirectory: String,
        host: String = "127.0.0.1",
        port: Int = 6380,
        fsyncPolicy: FsyncPolicy = .always,
        wireLimits: RESPLimits = RESPLimits(),
        maxConnections: Int = 10_000,
        walSegmentMaxBytes: Int64 = 16 << 20,
        snapshotThresholdBytes: Int64 = 64 << 20,
        walRetentionBytes: Int64 = 256 << 20,
        expiryCycleIntervalMilliseconds: Int64 = 100,
        expiryCycleMaxKeys: Int = 200
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.fsyncPolicy = fsyncPolicy
        self.wireLimits = wireLimits
        self.maxConnections = maxConnections
        self.walSegmentMaxBytes = walSegmentMaxBytes
        self.snapshotThresholdBytes = snapshotThresholdBytes
        self.walRetentionBytes = walRetentionBytes
        self.expiryCycleIntervalMilliseconds = expiryCycleIntervalMilliseconds
        self.expiryCycleMaxKeys = expiryCycleMaxKeys
    }
}

/// How a node takes part in a primary–standby pair (`--peer`, `--replication`, `--role`).
public struct ReplicationConfiguration: Sendable {
    /// The other node's client address.
    public var peer: ListenAddress
    public var mode: ReplicationMode
    public var role: ReplicationRole
    /// How long a sync-mode write waits for the standby before its reply fails (NOREPLICAS).
    public var syncTimeoutMilliseconds: Int64
    /// Records that may wait for the standby at once; past it writes are refused.
    public var maxWaitingWrites: Int
    /// Bytes sent to the standby and not yet acknowledged.
    public var windowBytes: Int
    /// How often the primary sends a heartbeat frame.
    public var heartbeatIntervalMilliseconds: Int64
    /// The witness's address (`--witness`): with one, roles are decided by the cluster and
    /// failover is automatic; without, `role` decides and nothing fails over.
    public var witness: ListenAddress?
    /// `--failure-timeout`, `--lease`, `--max-lag-on-failover` (see `CoordinationSettings`).
    public var failureTimeoutMilliseconds: Int64 = 1_000
    public var leaseMilliseconds: Int64 = 500
    public var maxLagOnFailoverBytes: Int64 = 1 << 20
    /// With a witness: the `--role` the operator gave, a hint for a new cluster (nil: none).
    public var roleHint: ReplicationRole?

    /// The failover timing, for the coordinator.
    public var coordinationSettings: CoordinationSettings {
        CoordinationSettings(
            mode: mode, heartbeatIntervalMilliseconds: heartbeatIntervalMilliseconds,
            failureTimeoutMilliseconds: failureTimeoutMilliseconds, leaseMilliseconds: leaseMilliseconds,
            maxLagOnFailoverBytes: maxLagOnFailoverBytes)
    }

    public init(
        peer: ListenAddress, mode: ReplicationMode = .sync, role: ReplicationRole,
        syncTimeoutMilliseconds: Int64 = 5_000, maxWaitingWrites: Int = 10_000,
        windowBytes: Int = 8 << 20, heartbeatIntervalMilliseconds: Int64 = 100
    ) {
        self.peer = peer
        self.mode = mode
        self.role = role
        self.syncTimeoutMilliseconds = syncTimeoutMilliseconds
        self.maxWaitingWrites = maxWaitingWrites
        self.windowBytes = windowBytes
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
    }
}
