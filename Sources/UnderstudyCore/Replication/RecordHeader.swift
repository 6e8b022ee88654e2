/// What the standby's state machine needs of one received WAL frame (the shell has
/// checked the frame's CRC against its bytes before building this).
public struct RecordHeader: Hashable, Sendable {
    public var epoch: Epoch
    public var lsn: LSN
    /// The frame's CRC32C, as framed in the WAL.
    public var checksum: UInt32
    /// The frame's length in bytes.
    public var byteCount: Int

    public init(epoch: Epoch, lsn: LSN, checksum: UInt32, byteCount: Int) {
        self.epoch = epoch
        self.lsn = lsn
        self.checksum = checksum
        self.byteCount = byteCount
    }
}
