public import UnderstudyCore

/// Raw WAL frames read for a standby: exactly the bytes of the segment files.
public struct WALFrameBatch: Sendable, Equatable {
    /// Whole frames, back to back (header + payload, CRCs included), every CRC checked.
    public var bytes: [UInt8]
    public var firstLSN: LSN
    public var lastLSN: LSN
    /// The number of frames (`lastLSN - firstLSN + 1`).
    public var count: Int
}

/// A cursor over the WAL segment files of a data directory that returns raw frames, for
/// a primary's replication sender.
///
/// Threading: owned by ONE thread and not `Sendable`. The sender calls it on the event
/// loop thread that also owns the `WALWriter`: reads are blocking `pread`s, acceptable
/// there because in the steady state they are served from the page cache (the frames
/// were just written). Because the writer appends on that same thread, every frame up to
/// `writer.lastWrittenLSN` is complete in the files whenever the reader runs; the caller
/// MUST pass an LSN no higher than that as `upTo` (never `lastAppendedLSN`: pending
/// frames are not in the files yet).
///
/// Pruning may remove segments at any time: the segment being read stays readable (its
/// descriptor is open), but a seek or a move to a segment that is gone throws
/// `.walNotRetained`, and the sender MUST then fall back to a snapshot. A damaged frame
/// throws `.corruptLog` naming the file and byte offset; nothing after it is returned.
///
/// A segment's data ends at the end of its file or at a frame header of 24 zero bytes
/// (the unwritten tail of a preallocated segment), whichever comes first.
///
/// Seeks are cheap when repeated: each segment keeps a sparse (LSN, offset) index of
/// the frames walked so far (`WALSegmentIndex`), so a seek scans at most one stride of
/// frame headers. If the WAL directory is replaced (a snapshot installed), make a new reader.
public final class WALReader {
    /// Read size when walking frame headers for a seek.
    static let scanBlockBytes = 64 << 10
    /// The most `readFrames` reads with one `pread` (a larger `maxBytes` takes several).
    static let readBlockBytes = 1 << 20

    public let dataDirectory: String
    /// The LSN the next `readFrames` starts at.
    public private(set) var nextLSN = LSN(1)

    private struct Position {
        var segment: WALReadSegment
        /// Where the frame for `nextLSN` starts (or will start: the end of the data).
        var offset: Int64
    }

    private enum Location {
        case found(WALReadSegment, offset: Int64)
        /// The log ends before the LSN asked for (at `lastLSN`).
        case pastEnd(lastLSN: LSN)
        /// There are no segments at all.
        case noSegments
    }

    /// Nil until the position of `nextLSN` is known.
    private var position: Position?
    /// The epoch of the last frame returned since the last seek.
    private var previousEpoch: Epoch?
    private var indexes: [LSN: WALSegmentIndex] = [:]

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The first LSN still in the WAL (the first LSN of the oldest segment), or nil if
    /// there are no segments. Records from it to the last written one can be streamed;
    /// older ones need a snapshot.
    public static func oldestRetainedLSN(dataDirectory: String) throws -> LSN? {
        try WALSegments.list(dataDirectory: dataDirectory).first?.firstLSN
    }

    /// Positions the cursor so that the next `readFrames` starts at `lsn`. `lsn` may be
    /// one past the last written record (the caught-up position).
    ///
    /// - Throws: `.walNotRetained` if `lsn` is older than the oldest segment,
    ///   `.invalidState` if it is more than one past the end of the log, `.corruptLog`
    ///   or `.lsnGap` for a damaged segment.
    public func seek(to lsn: LSN) throws {
        precondition(lsn > .zero, "LSNs start at 1")
        previousEpoch = nil
        switch try locate(lsn) {
        case .found(let segment, let offset):
            position = Position(segment: segment, offset: offset)
        case .noSegments:
            position = nil  // resolved when records exist
        case .pastEnd(let lastLSN):
            throw StorageError(.invalidState, "cannot seek to LSN \(lsn): the log ends at LSN \(lastLSN)", path: StorageLayout.walDirectory(dataDirectory))
        }
        nextLSN = lsn
    }

    /// Reads whole frames from `nextLSN` up to `lastLSN`, at most `maxBytes` of them — but
    /// always at least one frame, even one larger than `maxBytes` — crossing segment
    /// boundaries, and advances the cursor past them. Never returns a partial frame.
    /// Returns nil when `lastLSN < nextLSN` (nothing new).
    ///
    /// Every frame's CRC, LSN (contiguous) and epoch (non-decreasing) is checked before it
    /// is returned. `lastLSN` MUST be ≤ the writer's `lastWrittenLSN`.
    ///
    /// - Throws: `.walNotRetained` (segment pruned: send a snapshot), `.corruptLog` naming
    ///   the file and offset, `.invalidState` if the log ends before `lastLSN`, `.io`.
    ///   After an error the cursor is unchanged (no frame of the failed call is consumed).
    public func readFrames(upTo lastLSN: LSN, maxBytes: Int) throws -> WALFrameBatch? {
        precondition(maxBytes > 0, "maxBytes must be positive")
        guard lastLSN >= nextLSN else { return nil }
        let saved = (nextLSN, position, previousEpoch)
        do {
            return try readBatch(upTo: lastLSN, maxBytes: maxBytes)
        } catch {
            (nextLSN, position, previousEpoch) = saved
            throw error
        }
    }

    private func readBatch(upTo lastLSN: LSN, maxBytes: Int) throws -> WALFrameBatch? {
        if position == nil {
            position = try resolvePosition(of: nextLSN, mustExistUpTo: lastLSN)
        }
        let firstLSN = nextLSN
        var bytes: [UInt8] = []
        var count = 0
        var movedWithoutProgress = false
        while nextLSN <= lastLSN {
            let budget = maxBytes - bytes.count
            if count > 0 && budget < WALFormat.frameHeaderBytes { break }
            guard let current = position else { fatalError("Internal inconsistency: no read position") }
            let block = try current.segment.read(at: current.offset, count: min(max(budget, WALFormat.frameHeaderBytes), WALReader.readBlockBytes))
            if block.withUnsafeBytes({ WALFormat.isEndOfData($0) }) {
                // The end of this segment's data (its end, or its zero-filled preallocated
                // tail). Frames up to lastLSN exist, so the next segment has them.
                guard !movedWithoutProgress else {
                    throw StorageError(.corruptLog, "LSN \(nextLSN) was written but its segment holds no frame", path: current.segment.path, offset: current.offset)
                }
                try moveToNextSegment(lastLSN: lastLSN)
                movedWithoutProgress = true
                continue
            }
            movedWithoutProgress = false
            var taken = try takeFrames(block, upTo: lastLSN, into: &bytes)
            if taken == 0 {
                // The next frame is larger than the block: read it alone, if the batch is
                // empty (at least one frame) or it still fits the budget.
                if count > 0 && WALReader.frameBytes(startingWith: block) > budget { break }
                taken = try takeOneLargeFrame(header: block, into: &bytes)
            }
            count += taken
        }
        guard count > 0 else { return nil }
        return WALFrameBatch(bytes: bytes, firstLSN: firstLSN, lastLSN: LSN(nextLSN.rawValue - 1), count: count)
    }

    /// The CRC32C field of the frame at `lsn`, or nil if the WAL does not hold it (LSN 0,
    /// pruned, or past the end of the log). The frame's CRC is checked first.
    public func recordChecksum(at lsn: LSN) throws -> UInt32? {
        guard lsn > .zero else { return nil }
        let location: Location
        do {
            location = try locate(lsn)
        } catch let error as StorageError where error.code == .walNotRetained {
            return nil
        }
        guard case .found(let segment, let offset) = location else { return nil }
        let header = try segment.read(at: offset, count: WALFormat.frameHeaderBytes)
        guard header.count == WALFormat.frameHeaderBytes,
              !header.withUnsafeBytes({ WALFormat.isZeroFrameHeader($0, at: 0) }) else { return nil }
        let length = header.withUnsafeBytes { $0.readUInt32(at: 0) }
        guard length <= WALFormat.maxPayloadBytes else {
            throw StorageError(.corruptLog, "frame length \(length) exceeds the limit", path: segment.path, offset: offset)
        }
        let frameBytes = try segment.read(at: offset, count: WALFormat.frameHeaderBytes + Int(length))
        return try frameBytes.withUnsafeBytes { raw in
            switch WALFormat.parseFrame(raw, at: 0) {
            case .success(let frame):
                guard frame.lsn == lsn else {
                    throw StorageError(.corruptLog, "frame has LSN \(frame.lsn), expected \(lsn)", path: segment.path, offset: offset)
                }
                return raw.readUInt32(at: 4)
            case .failure(let defect):
                throw StorageError(.corruptLog, "\(defect) in the frame for LSN \(lsn)", path: segment.path, offset: offset)
            }
        }
    }

    /// The LSN of the last whole frame in the WAL, or nil if there are no segments (an
    /// empty last segment ends the log just before its first LSN). Found by walking frame
    /// headers, as a seek does: frame CRCs are checked when the frames are read.
    ///
    /// - Throws: `.corruptLog` or `.lsnGap` for a damaged last segment, `.io`.
    func lastLSN() throws -> LSN? {
        switch try locate(LSN(UInt64.max)) {
        case .noSegments:
            return nil
        case .pastEnd(let lastLSN):
            return lastLSN
        case .found(let segment, let offset):
            throw StorageError(.corruptLog, "the log reaches the largest possible LSN", path: segment.path, offset: offset)
        }
    }

    /// Where the frame for `lsn` starts (or, one past the last record, where it would be
    /// written): the segment file and the byte offset. Nil if the log ends before `lsn - 1`
    /// or there are no segments.
    ///
    /// - Throws: `.walNotRetained` if `lsn` is older than the oldest segment, `.corruptLog`
    ///   or `.lsnGap` for a damaged segment, `.io`.
    func frameStart(of lsn: LSN) throws -> (segmentFirstLSN: LSN, path: String, offset: Int64)? {
        guard case .found(let segment, let offset) = try locate(lsn) else { return nil }
        return (segment.firstLSN, segment.path, offset)
    }

    // MARK: - Reading

    /// Appends the whole frames at the start of `block` (read at the current position)
    /// up to `lastLSN` to `bytes`, advancing the cursor. Returns how many were taken;
    /// stops at the first frame that is not entirely in `block`.
    private func takeFrames(_ block: [UInt8], upTo lastLSN: LSN, into bytes: inout [UInt8]) throws -> Int {
        guard let current = position else { fatalError("Internal inconsistency: no read position") }
        var taken = 0
        var offset = 0
        try block.withUnsafeBytes { raw in
            while nextLSN <= lastLSN {
                let fileOffset = current.offset + Int64(offset)
                if WALFormat.isZeroFrameHeader(raw, at: offset) { return }  // end of this segment's data
                let frame: WALFormat.Frame
                switch WALFormat.parseFrame(raw, at: offset) {
                case .success(let parsed): frame = parsed
                case .failure(.incomplete): return
                case .failure(let defect):
                    throw StorageError(.corruptLog, "\(defect) in the frame for LSN \(nextLSN)", path: current.segment.path, offset: fileOffset)
                }
                try check(frame, in: current.segment, at: fileOffset)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[offset..<frame.end]))
                offset = frame.end
                advance(past: frame, endingAt: current.offset + Int64(frame.end))
                taken += 1
            }
        }
        return taken
    }

    /// The size of the frame whose first bytes are `block` (header + payload length), or
    /// `Int.max` if not even its header is there.
    private static func frameBytes(startingWith block: [UInt8]) -> Int {
        guard block.count >= WALFormat.frameHeaderBytes else { return Int.max }
        return WALFormat.frameHeaderBytes + Int(block.withUnsafeBytes { $0.readUInt32(at: 0) })
    }

    /// Reads the single frame at the current position whose start is in `header` but
    /// which did not fit in the block (larger than the batch budget).
    private func takeOneLargeFrame(header: [UInt8], into bytes: inout [UInt8]) throws -> Int {
        guard let current = position else { fatalError("Internal inconsistency: no read position") }
        guard header.count >= WALFormat.frameHeaderBytes else {
            throw StorageError(.corruptLog, "incomplete frame for LSN \(nextLSN) (\(header.count) bytes at the end of the file)", path: current.segment.path, offset: current.offset)
        }
        let length = header.withUnsafeBytes { $0.readUInt32(at: 0) }
        guard length <= WALFormat.maxPayloadBytes else {
            throw StorageError(.corruptLog, "frame length \(length) exceeds the limit", path: current.segment.path, offset: current.offset)
        }
        let frameBytes = try current.segment.read(at: current.offset, count: WALFormat.frameHeaderBytes + Int(length))
        let taken = try takeFrames(frameBytes, upTo: nextLSN, into: &bytes)
        guard taken == 1 else {
            throw StorageError(.corruptLog, "incomplete frame for LSN \(nextLSN) (\(frameBytes.count) of \(WALFormat.frameHeaderBytes + Int(length)) bytes in the file)", path: current.segment.path, offset: current.offset)
        }
        return taken
    }

    /// A checksum-valid frame must still be the one expected: the next LSN, an epoch that
    /// does not go back.
    private func check(_ frame: WALFormat.Frame, in segment: WALReadSegment, at offset: Int64) throws {
        guard frame.lsn == nextLSN else {
            throw StorageError(.corruptLog, "frame has LSN \(frame.lsn), expected \(nextLSN)", path: segment.path, offset: offset)
        }
        if let previousEpoch, frame.epoch < previousEpoch {
            throw StorageError(.corruptLog, "frame for LSN \(frame.lsn) has epoch \(frame.epoch) after epoch \(previousEpoch)", path: segment.path, offset: offset)
        }
    }

    private func advance(past frame: WALFormat.Frame, endingAt end: Int64) {
        guard let current = position else { fatalError("Internal inconsistency: no read position") }
        previousEpoch = frame.epoch
        nextLSN = frame.lsn.next
        position = Position(segment: current.segment, offset: end)
        indexes[current.segment.firstLSN]?.extend(lsn: nextLSN, offset: end)
    }

    /// The current segment has no frame left, but `nextLSN` was written: it is in the
    /// segment named `nextLSN` (a segment boundary is a batch boundary).
    private func moveToNextSegment(lastLSN: LSN) throws {
        let path = StorageLayout.walDirectory(dataDirectory) + "/" + WALFormat.segmentName(firstLSN: nextLSN)
        do {
            let segment = try WALReadSegment(path: path, firstLSN: nextLSN)
            if indexes[nextLSN] == nil { indexes[nextLSN] = WALSegmentIndex(firstLSN: nextLSN) }
            position = Position(segment: segment, offset: Int64(WALFormat.segmentHeaderBytes))
        } catch let error as StorageError where error.code == .walNotRetained {
            // Pruned (everything before it is gone too), never made, or a hole in the log.
            let segments = try WALSegments.list(dataDirectory: dataDirectory)
            guard let oldest = segments.first, oldest.firstLSN <= nextLSN else { throw error }
            if segments.contains(where: { $0.firstLSN > nextLSN }) {
                throw StorageError(.lsnGap, "no segment starts at LSN \(nextLSN) but later ones exist", path: path)
            }
            throw StorageError(.invalidState, "asked for LSNs up to \(lastLSN) but the log ends at LSN \(nextLSN.rawValue - 1)", path: path)
        }
    }

    /// Where to start reading `lsn` when records up to `lastLSN` exist.
    private func resolvePosition(of lsn: LSN, mustExistUpTo lastLSN: LSN) throws -> Position {
        switch try locate(lsn) {
        case .found(let segment, let offset):
            return Position(segment: segment, offset: offset)
        case .noSegments:
            throw StorageError(.walNotRetained, "LSN \(lsn) is not in the WAL: there are no segments", path: StorageLayout.walDirectory(dataDirectory))
        case .pastEnd(let end):
            throw StorageError(.invalidState, "asked for LSNs up to \(lastLSN) but the log ends at LSN \(end)", path: StorageLayout.walDirectory(dataDirectory))
        }
    }

    // MARK: - Locating

    /// Finds the segment and offset of the frame for `lsn` (or of where it will be
    /// written, if `lsn` is one past the last record).
    private func locate(_ lsn: LSN) throws -> Location {
        let segments = try WALSegments.list(dataDirectory: dataDirectory)
        let listed = Set(segments.map(\.firstLSN))
        indexes = indexes.filter { listed.contains($0.key) }
        guard let oldest = segments.first else { return .noSegments }
        guard lsn >= oldest.firstLSN else {
            throw StorageError(.walNotRetained, "LSN \(lsn) is no longer in the WAL: the oldest segment starts at LSN \(oldest.firstLSN)", path: oldest.path)
        }
        guard let index = segments.lastIndex(where: { $0.firstLSN <= lsn }) else { fatalError("Internal inconsistency: no segment at or before LSN \(lsn)") }
        let info = segments[index]
        let segment = try openSegment(info)
        let (lastLSN, offset) = try scan(segment, to: lsn)
        if lastLSN.next == lsn { return .found(segment, offset: offset) }
        if index + 1 < segments.count {
            throw StorageError(.lsnGap, "segment ends after LSN \(lastLSN) but the next one starts at LSN \(segments[index + 1].firstLSN)", path: info.path, offset: offset)
        }
        return .pastEnd(lastLSN: lastLSN)
    }

    private func openSegment(_ info: WALSegmentInfo) throws -> WALReadSegment {
        if indexes[info.firstLSN] == nil { indexes[info.firstLSN] = WALSegmentIndex(firstLSN: info.firstLSN) }
        if let current = position?.segment, current.firstLSN == info.firstLSN { return current }
        return try WALReadSegment(path: info.path, firstLSN: info.firstLSN)
    }

    /// Walks frame headers from the closest indexed frame towards `lsn`, extending the
    /// index. Returns the last LSN before the stopping point and the stopping offset: the
    /// start of `lsn`'s frame, or the end of the complete frames in the file.
    private func scan(_ segment: WALReadSegment, to lsn: LSN) throws -> (lastLSN: LSN, offset: Int64) {
        guard var index = indexes[segment.firstLSN] else { fatalError("Internal inconsistency: no index for segment \(segment.path)") }
        defer { indexes[segment.firstLSN] = index }
        let start = index.start(for: lsn)
        var expected = start.lsn
        var offset = start.offset
        let fileBytes = try segment.size()
        var block: [UInt8] = []
        var blockStart: Int64 = 0
        let headerBytes = Int64(WALFormat.frameHeaderBytes)
        while expected < lsn && offset + headerBytes <= fileBytes {
            if offset < blockStart || offset + headerBytes > blockStart + Int64(block.count) {
                block = try segment.read(at: offset, count: WALReader.scanBlockBytes)
                blockStart = offset
                guard block.count >= WALFormat.frameHeaderBytes else { break }
            }
            let (length, frameLSN, isZero) = block.withUnsafeBytes { raw in
                let at = Int(offset - blockStart)
                return (raw.readUInt32(at: at), LSN(raw.readUInt64(at: at + 16)), WALFormat.isZeroFrameHeader(raw, at: at))
            }
            if isZero { break }  // the zero-filled tail of a preallocated segment: the end of the data
            guard length <= WALFormat.maxPayloadBytes else {
                throw StorageError(.corruptLog, "frame length \(length) exceeds the limit", path: segment.path, offset: offset)
            }
            let end = offset + headerBytes + Int64(length)
            guard end <= fileBytes else { break }  // incomplete: the end of the written data
            guard frameLSN == expected else {
                throw StorageError(.corruptLog, "frame has LSN \(frameLSN), expected \(expected)", path: segment.path, offset: offset)
            }
            offset = end
            expected = expected.next
            index.extend(lsn: expected, offset: offset)
        }
        return (LSN(expected.rawValue - 1), offset)
    }
}
