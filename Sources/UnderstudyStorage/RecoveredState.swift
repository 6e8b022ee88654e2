public import UnderstudyCore

/// What `Recovery.recover` rebuilt from disk: the keyspace and where the log stands.
public struct RecoveredState: Sendable {
    /// The snapshot plus every replayed WAL record.
    public var keyspace: Keyspace
    /// The last LSN in the state (the snapshot's, or the last replayed record's).
    /// The next record MUST get `lastLSN.next`.
    public var lastLSN: LSN
    /// The epoch of the last record (or of the snapshot); `.initial` on an empty node.
    public var lastEpoch: Epoch
    /// The LSN of the snapshot that was loaded, `.zero` if none.
    public var snapshotLSN: LSN
    public var statistics: RecoveryStatistics
    /// The CRC32C field of the WAL frame at `lastLSN` (what a standby sends in its
    /// `REPLICATE` handshake). Nil when there is no such frame on disk: an empty node
    /// (`lastLSN` 0), or a state that ends at a snapshot whose record's segment was pruned
    /// or moved aside (a freshly installed snapshot).
    public var lastRecordChecksum: UInt32?

    public init(keyspace: Keyspace, lastLSN: LSN, lastEpoch: Epoch, snapshotLSN: LSN, statistics: RecoveryStatistics, lastRecordChecksum: UInt32? = nil) {
        self.lastRecordChecksum = lastRecordChecksum
        self.keyspace = keyspace
        self.lastLSN = lastLSN
        self.lastEpoch = lastEpoch
        self.snapshotLSN = snapshotLSN
        self.statistics = statistics
    }
}

/// Counters describing one recovery, for the startup log line and metrics.
public struct RecoveryStatistics: Sendable, Equatable {
    /// The snapshot file loaded, if any.
    public var snapshotPath: String?
    public var snapshotEntryCount = 0
    /// Newer snapshots that failed validation and were skipped.
    public var snapshotsRejected = 0
    /// WAL segments read (segments wholly covered by the snapshot are not read).
    public var segmentsScanned = 0
    /// Records applied on top of the snapshot.
    public var recordsReplayed = 0
    /// Bytes of WAL frames after the snapshot LSN (a hint for when to snapshot next).
    public var walBytesAfterSnapshot: Int64 = 0
    /// Bytes cut from a torn or corrupt tail (0 when the log ended cleanly).
    public var truncatedBytes: Int64 = 0

    public init() {}
}
