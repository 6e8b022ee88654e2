import Glibc
import Logging
import UnderstudyCore

/// Replays WAL segments on top of a snapshot, enforcing the recovery rules:
///
/// - Records MUST be contiguous: the first segment read starts at or before
///   `snapshotLSN + 1`, every segment starts where the previous one ended, and every
///   frame's LSN is its predecessor's plus one. Anything else is a gap: refuse.
/// - A segment's data ends where only zeros remain in the file: the unwritten tail of a
///   preallocated segment (or a tail the file system zero-filled after a crash). That is
///   the normal end, in any segment: nothing is cut or logged, and the next segment must
///   start at the next LSN.
/// - Any other defect (incomplete frame, bad checksum) in the LAST segment with no valid
///   frame after it is a torn tail: it is cut (ftruncate + fsync), logged once.
/// - Any other defect — in an earlier segment, or followed by a valid frame — means
///   acknowledged records may be damaged: refuse, naming the file and byte offset.
struct WALReplay {
    var keyspace: Keyspace
    let snapshotLSN: LSN
    /// The last LSN in the state: the snapshot's or the last replayed record's.
    private(set) var lastLSN: LSN
    private(set) var lastEpoch: Epoch
    private(set) var statistics: RecoveryStatistics
    /// The LSN and CRC field of the last checksum-valid frame checked (applied or not).
    private(set) var lastCheckedFrame: (lsn: LSN, checksum: UInt32)?
    private let logger: Logger
    /// The LSN the next frame must carry, once the first segment has been read.
    private var expectedLSN: LSN?
    private var previousFrameEpoch = Epoch(0)

    init(keyspace: Keyspace, snapshotLSN: LSN, snapshotEpoch: Epoch, statistics: RecoveryStatistics, logger: Logger) {
        self.keyspace = keyspace
        self.snapshotLSN = snapshotLSN
        self.lastLSN = snapshotLSN
        self.lastEpoch = snapshotEpoch
        self.statistics = statistics
        self.logger = logger
    }

    mutating func replay(_ segments: [WALSegmentInfo]) throws {
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            // Wholly covered by the snapshot: not needed (pruning will remove it).
            if !isLast && segments[index + 1].firstLSN.rawValue - 1 <= snapshotLSN.rawValue { continue }
            try replay(segment, isLast: isLast)
        }
    }

    private mutating func replay(_ segment: WALSegmentInfo, isLast: Bool) throws {
        try checkStart(of: segment)
        let descriptor = try FileIO.open(segment.path, flags: isLast ? O_RDWR : O_RDONLY)
        defer { close(descriptor) }
        let bytes = try FileIO.readWholeFile(descriptor, path: segment.path)
        statistics.segmentsScanned += 1
        expectedLSN = segment.firstLSN

        guard try checkHeader(bytes, of: segment, descriptor: descriptor, isLast: isLast) else { return }
        var cut: (offset: Int, reason: String)?
        try bytes.withUnsafeBytes { raw in
            var offset = WALFormat.segmentHeaderBytes
            while offset < raw.count {
                switch WALFormat.parseFrame(raw, at: offset) {
                case .success(let frame):
                    try apply(frame, raw, in: segment, at: offset)
                    offset = frame.end
                case .failure(let defect):
                    if WALFormat.isZero(raw, from: offset) { return }  // the zero-filled tail: the end of the data
                    try checkTail(raw, defectAt: offset, defect, in: segment, isLast: isLast)
                    cut = (offset, "\(defect)")
                    return
                }
            }
        }
        if let cut {
            try truncate(segment, descriptor: descriptor, to: cut.offset, fileBytes: bytes.count, reason: cut.reason)
        }
        // Records replayed from here may only have reached the page cache before a crash
        // of the previous process: make them durable before anything is built on them.
        try FileIO.dataSync(descriptor, path: segment.path)
    }

    /// A segment must continue the log exactly where the previous one ended.
    private func checkStart(of segment: WALSegmentInfo) throws {
        if let expectedLSN {
            guard segment.firstLSN == expectedLSN else {
                throw StorageError(.lsnGap, "segment starts at LSN \(segment.firstLSN) but the previous segment ended at LSN \(expectedLSN.rawValue - 1)", path: segment.path, offset: 0)
            }
        } else if segment.firstLSN.rawValue > snapshotLSN.rawValue + 1 {
            let base = snapshotLSN == .zero ? "there is no snapshot" : "the snapshot ends at LSN \(snapshotLSN)"
            throw StorageError(.lsnGap, "the WAL starts at LSN \(segment.firstLSN) but \(base): LSNs \(snapshotLSN.rawValue + 1)...\(segment.firstLSN.rawValue - 1) are missing", path: segment.path, offset: 0)
        }
    }

    /// Validates the segment header. Returns false for an empty segment (nothing to read).
    private mutating func checkHeader(_ bytes: [UInt8], of segment: WALSegmentInfo, descriptor: Int32, isLast: Bool) throws -> Bool {
        if bytes.isEmpty { return false }
        let check = bytes.withUnsafeBytes { WALFormat.checkSegmentHeader($0) }
        switch check {
        case .valid(let firstLSN):
            guard firstLSN == segment.firstLSN else {
                throw StorageError(.corruptLog, "segment header says first LSN \(firstLSN) but the file name says \(segment.firstLSN)", path: segment.path, offset: 16)
            }
            return true
        case .unsupportedVersion(let version):
            throw StorageError(.unsupportedVersion, "WAL segment format version \(version) is not supported (this build reads \(WALFormat.version))", path: segment.path, offset: 8)
        case .invalid(let reason):
            // A crash while a new segment was being created leaves a short or zero header.
            let tornCreation = bytes.count <= WALFormat.segmentHeaderBytes || bytes.withUnsafeBytes { WALFormat.isZero($0, from: 0) }
            guard isLast && tornCreation else {
                throw StorageError(.corruptLog, "invalid segment header: \(reason)", path: segment.path, offset: 0)
            }
            try truncate(segment, descriptor: descriptor, to: 0, fileBytes: bytes.count, reason: "torn segment header (\(reason))")
            return false
        }
    }

    private mutating func apply(_ frame: WALFormat.Frame, _ raw: UnsafeRawBufferPointer, in segment: WALSegmentInfo, at offset: Int) throws {
        guard let expected = expectedLSN, frame.lsn == expected else {
            throw StorageError(.lsnGap, "frame has LSN \(frame.lsn), expected \(expectedLSN ?? .zero)", path: segment.path, offset: Int64(offset))
        }
        guard frame.epoch >= Epoch.initial, frame.epoch >= previousFrameEpoch else {
            throw StorageError(.corruptLog, "frame for LSN \(frame.lsn) has epoch \(frame.epoch) after epoch \(previousFrameEpoch)", path: segment.path, offset: Int64(offset))
        }
        previousFrameEpoch = frame.epoch
        expectedLSN = frame.lsn.next
        lastCheckedFrame = (frame.lsn, raw.readUInt32(at: offset + 4))
        guard frame.lsn > snapshotLSN else { return }
        let effects: [Effect]
        do {
            effects = try Effect.decodeRecord(UnsafeRawBufferPointer(rebasing: raw[frame.payload]))
        } catch {
            throw StorageError(.corruptLog, "frame for LSN \(frame.lsn) passed its checksum but does not decode: \(error)", path: segment.path, offset: Int64(offset))
        }
        keyspace.apply(effects)
        lastLSN = frame.lsn
        lastEpoch = frame.epoch
        statistics.recordsReplayed += 1
        statistics.walBytesAfterSnapshot += Int64(frame.end - offset)
    }

    /// Refuses unless a defect at `offset` is a torn tail: last segment, nothing valid after.
    private func checkTail(_ raw: UnsafeRawBufferPointer, defectAt offset: Int, _ defect: WALFormat.FrameDefect, in segment: WALSegmentInfo, isLast: Bool) throws {
        guard isLast else {
            throw StorageError(.corruptLog, "\(defect) in a segment that is not the last; later segments hold records, so this is not a torn tail", path: segment.path, offset: Int64(offset))
        }
        let lastGood = LSN((expectedLSN ?? segment.firstLSN).rawValue - 1)
        if let (laterOffset, laterLSN) = WALReplay.findValidFrame(raw, after: offset, lastGood: lastGood) {
            throw StorageError(.corruptLog, "\(defect), but a valid frame (LSN \(laterLSN)) follows at offset \(laterOffset): the log is damaged before its tail", path: segment.path, offset: Int64(offset))
        }
    }

    /// Looks for any checksum-valid frame after a defect. Cheap LSN plausibility checks
    /// come first, so the scan stays linear in practice.
    static func findValidFrame(_ raw: UnsafeRawBufferPointer, after offset: Int, lastGood: LSN) -> (offset: Int, lsn: LSN)? {
        let maxPlausible = lastGood.rawValue &+ UInt64(raw.count / WALFormat.frameHeaderBytes) &+ 1
        var candidate = offset + 1
        while candidate + WALFormat.frameHeaderBytes <= raw.count {
            let lsn = raw.readUInt64(at: candidate + 16)
            if lsn > lastGood.rawValue && lsn <= maxPlausible, case .success(let frame) = WALFormat.parseFrame(raw, at: candidate) {
                return (candidate, frame.lsn)
            }
            candidate += 1
        }
        return nil
    }

    private mutating func truncate(_ segment: WALSegmentInfo, descriptor: Int32, to offset: Int, fileBytes: Int, reason: String) throws {
        try FileIO.truncate(descriptor, to: Int64(offset), path: segment.path)
        try FileIO.fullSync(descriptor, path: segment.path)
        let removed = fileBytes - offset
        statistics.truncatedBytes += Int64(removed)
        logger.warning(
            "Cut torn WAL tail of \(segment.path) at offset \(offset): removed \(removed) bytes (\(reason)); last good LSN \((expectedLSN ?? segment.firstLSN).rawValue - 1)",
            metadata: ["file": "\(segment.path)", "offset": "\(offset)", "bytesCut": "\(removed)"]
        )
    }
}
