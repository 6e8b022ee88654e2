/// What the primary's storage knows when a standby shakes hands: the inputs of the
/// stream-or-snapshot decision, read by the shell at that moment.
public struct PrimaryLogFacts {
    /// The last LSN written to the WAL files.
    public var lastWrittenLSN: LSN
    /// The first LSN still in the WAL files (`lastWrittenLSN + 1` if none is).
    public var oldestRetainedLSN: LSN
    /// The LSN of the newest valid snapshot, if there is one.
    public var newestSnapshotLSN: LSN?
    /// The CRC32C of the WAL frame of a record, as framed on disk; nil if the record is not
    /// retained.
    public var checksumOfRecord: (LSN) -> UInt32?

    public init(lastWrittenLSN: LSN, oldestRetainedLSN: LSN, newestSnapshotLSN: LSN?,
                checksumOfRecord: @escaping (LSN) -> UInt32?) {
        self.lastWrittenLSN = lastWrittenLSN
        self.oldestRetainedLSN = oldestRetainedLSN
        self.newestSnapshotLSN = newestSnapshotLSN
        self.checksumOfRecord = checksumOfRecord
    }
}
