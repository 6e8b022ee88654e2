/// Counters reported by INFO (stats, clients). Owned by the engine's event loop.
struct ServerStatistics {
    var totalConnectionsReceived: Int64 = 0
    var rejectedConnections: Int64 = 0
    var totalCommandsProcessed: Int64 = 0
    var expiredKeys: Int64 = 0
    var protocolErrors: Int64 = 0
    /// Failed authentications (Redis's `acl_access_denied_auth`).
    var authenticationFailures: Int64 = 0
    /// Connections closed for load (`--client-output-buffer-limit`, `--idle-timeout`); named
    /// as Redis 7.4's INFO field where Redis has one.
    var clientOutputBufferLimitDisconnections: Int64 = 0
    var idleTimeoutDisconnections: Int64 = 0
    /// Writes refused before they ran because `--max-waiting-writes` wait for the standby.
    var rejectedWaitingWrites: Int64 = 0
    var walRecordsAppended: Int64 = 0
    var fsyncCount: Int64 = 0
    var snapshotsTaken: Int64 = 0
    /// Records cut off this node's log on rejoining after a failover (kept in lost-writes files).
    var rewoundRecords: Int64 = 0
}
