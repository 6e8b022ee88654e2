/// What a data node does in the pair.
public enum ReplicationRole: String, Hashable, Sendable, CaseIterable {
    /// Takes writes and streams its log to the standby.
    case primary
    /// Follows the primary's log, serves (possibly stale) reads and refuses writes.
    case standby
}
