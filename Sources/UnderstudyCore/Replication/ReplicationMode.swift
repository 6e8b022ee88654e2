/// When a write's reply may be released (`--replication`).
public enum ReplicationMode: String, Hashable, Sendable, CaseIterable {
    /// Durable on the primary and acknowledged durable by the standby: zero RPO.
    case sync
    /// Durable on the primary (per `--fsync`); the standby follows, with its lag reported.
    case async
}
