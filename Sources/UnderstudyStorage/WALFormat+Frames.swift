public import UnderstudyCore

/// One WAL record, decoded from its frame and checked.
public struct WALRecord: Sendable, Equatable {
    public var epoch: Epoch
    public var lsn: LSN
    public var effects: [Effect]
    /// The frame's CRC32C field: what the replication handshake compares.
    public var checksum: UInt32
    /// Where the whole frame (header included) lies in the bytes it was decoded from, so a
    /// caller can slice off duplicates before `WALWriter.appendFrames`.
    public var frameBytes: Range<Int>

    public init(epoch: Epoch, lsn: LSN, effects: [Effect], checksum: UInt32, frameBytes: Range<Int>) {
        self.epoch = epoch
        self.lsn = lsn
        self.effects = effects
        self.checksum = checksum
        self.frameBytes = frameBytes
    }
}

extension WALFormat {
    /// Decodes a run of raw frames as they travel from a primary to a standby (exactly
    /// the bytes of its segment files: header + payload, CRCs included).
    ///
    /// Every frame MUST be whole and checksum-valid (checked before anything in it is
    /// used), carry the LSN after its predecessor's, an epoch ≥ 1 that is not below its
    /// predecessor's, and a payload that decodes to at least one effect. Anything else
    /// throws `.invalidFrames` (`.lsnGap` for a gap) with the offset within `bytes`.
    /// Empty input gives no records. Pure: no I/O, safe on any thread.
    public static func decodeFrames(_ bytes: UnsafeRawBufferPointer) throws -> [WALRecord] {
        var records: [WALRecord] = []
        try checkFrames(bytes, after: nil, minimumEpoch: .initial) { frame, offset, effects in
            records.append(WALRecord(
                epoch: frame.epoch, lsn: frame.lsn, effects: effects,
                checksum: bytes.readUInt32(at: offset + 4), frameBytes: offset..<frame.end
            ))
        }
        return records
    }

    public static func decodeFrames(_ bytes: [UInt8]) throws -> [WALRecord] {
        try bytes.withUnsafeBytes { try decodeFrames($0) }
    }

    /// Walks whole frames, enforcing the rules of `decodeFrames`, and hands each one (with
    /// its start offset and decoded effects) to `body`. `previousLSN`, when given, is the
    /// LSN the first frame must follow; `minimumEpoch` the lowest epoch it may carry.
    static func checkFrames(
        _ bytes: UnsafeRawBufferPointer,
        after previousLSN: LSN?,
        minimumEpoch: Epoch,
        _ body: (Frame, _ offset: Int, _ effects: [Effect]) throws -> Void
    ) throws {
        var expectedLSN = previousLSN?.next
        var previousEpoch = max(minimumEpoch, .initial)
        var offset = 0
        while offset < bytes.count {
            let frame: Frame
            switch parseFrame(bytes, at: offset) {
            case .success(let parsed): frame = parsed
            case .failure(let defect):
                throw StorageError(.invalidFrames, "\(defect) at offset \(offset) of \(bytes.count) bytes of frames", offset: Int64(offset))
            }
            if let expectedLSN, frame.lsn != expectedLSN {
                throw StorageError(.lsnGap, "frame has LSN \(frame.lsn), expected \(expectedLSN)", offset: Int64(offset))
            }
            guard frame.epoch >= previousEpoch else {
                throw StorageError(.invalidFrames, "frame for LSN \(frame.lsn) has epoch \(frame.epoch), below epoch \(previousEpoch)", offset: Int64(offset))
            }
            let effects: [Effect]
            do {
                effects = try Effect.decodeRecord(UnsafeRawBufferPointer(rebasing: bytes[frame.payload]))
            } catch {
                throw StorageError(.invalidFrames, "frame for LSN \(frame.lsn) passed its checksum but does not decode: \(error)", offset: Int64(offset))
            }
            guard !effects.isEmpty else {
                throw StorageError(.invalidFrames, "frame for LSN \(frame.lsn) carries no effects", offset: Int64(offset))
            }
            try body(frame, offset, effects)
            expectedLSN = frame.lsn.next
            previousEpoch = frame.epoch
            offset = frame.end
        }
    }
}
