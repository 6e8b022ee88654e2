public import UnderstudyCore

/// One WAL record in the simulation: what the real log frames, minus the bytes. Each
/// client write carries a value no other write carries, so a record names its write.
public struct SimulatedRecord: Hashable, Sendable {
    public var lsn: LSN
    public var epoch: Epoch
    public var value: UInt64

    public init(lsn: LSN, epoch: Epoch, value: UInt64) {
        self.lsn = lsn
        self.epoch = epoch
        self.value = value
    }

    /// Framed size: enough for the lag-in-bytes arithmetic to mean something.
    public static let frameBytes = 48

    /// Stands in for the frame's CRC32C: a mix of every field.
    public var checksum: UInt32 {
        var mix = lsn.rawValue &* 0x9E37_79B9_7F4A_7C15 ^ epoch.rawValue &* 0xBF58_476D_1CE4_E5B9 ^ value
        mix = (mix ^ (mix >> 31)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: mix ^ (mix >> 29))
    }

    var header: RecordHeader {
        RecordHeader(epoch: epoch, lsn: lsn, checksum: checksum, byteCount: Self.frameBytes)
    }
}

/// What a rejoining node cut from its log: the writes a failover lost (invariant 5).
public struct LostWritesReport: Hashable, Sendable {
    public var node: String
    public var trueMilliseconds: Int64
    public var records: [SimulatedRecord]

    public var lsnRange: ClosedRange<LSN>? {
        guard let first = records.first, let last = records.last else { return nil }
        return first.lsn...last.lsn
    }
}
