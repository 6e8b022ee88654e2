public import UnderstudyCore

/// The byte layout of WAL segment files (docs/storage.md has the full picture).
///
/// A segment is a 32-byte header followed by frames:
///
///     header: magic "UNDSTWAL" (8) | version u32 | reserved u32 | first LSN u64 |
///             reserved u32 | CRC32C of bytes 0..<28 u32
///     frame:  payload length u32 | CRC32C u32 | epoch u64 | LSN u64 | payload
///
/// The frame CRC covers everything after itself: epoch, LSN and payload. The payload is
/// one `Effect.encodeRecord`. All integers are little-endian.
public enum WALFormat {
    public static let segmentHeaderBytes = 32
    public static let frameHeaderBytes = 24
    /// The largest payload a frame may carry. Readers refuse larger lengths before
    /// allocating anything.
    public static let maxPayloadBytes = 1 << 30
    public static let version: UInt32 = 1

    static let magic: [UInt8] = Array("UNDSTWAL".utf8)
    static let segmentSuffix = ".wal"
    static let digits = 20

    /// `00000000000000000042.wal`: the first LSN, zero-padded so names sort by LSN.
    public static func segmentName(firstLSN: LSN) -> String {
        let number = String(firstLSN.rawValue)
        return String(repeating: "0", count: max(0, digits - number.count)) + number + segmentSuffix
    }

    /// The first LSN encoded in a segment file name, or nil for any other file.
    public static func firstLSN(ofSegmentNamed name: String) -> LSN? {
        guard name.hasSuffix(segmentSuffix) else { return nil }
        let number = name.dropLast(segmentSuffix.count)
        guard number.count == digits, number.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let value = UInt64(number), value > 0 else { return nil }
        return LSN(value)
    }

    /// A segment file prepared ahead of need (`WALSegmentPreparation`) while it is being
    /// zero-filled, and once it is complete and durable. Neither is a segment name, so a
    /// crash never leaves a half-prepared file that looks like a segment.
    static let preparingName = "prepared-segment.tmp"
    static let preparedName = "prepared-segment.ready"

    /// Whether the frame header at `offset` is all zeros: the end of the data in a
    /// preallocated segment (its unwritten, zero-filled tail). No frame has such a header:
    /// the CRC32C of a zero epoch, LSN and payload is not 0, and LSNs start at 1.
    static func isZeroFrameHeader(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        guard bytes.count - offset >= frameHeaderBytes else { return false }
        return bytes.readUInt64(at: offset) == 0 && bytes.readUInt64(at: offset + 8) == 0
            && bytes.readUInt64(at: offset + 16) == 0
    }

    /// Whether a block read at a frame boundary starts at the end of a segment's data: it is
    /// empty, or its first frame header — or, at the end of the file, what is left of one —
    /// is all zeros. Only for blocks that reach the end of the file when shorter than a
    /// frame header (a preallocated segment can end in fewer than 24 zero bytes).
    static func isEndOfData(_ block: UnsafeRawBufferPointer) -> Bool {
        isZero(UnsafeRawBufferPointer(rebasing: block.prefix(frameHeaderBytes)), from: 0)
    }

    /// Whether every byte from `offset` to the end is zero (eight at a time).
    static func isZero(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Bool {
        var position = offset
        while position + 8 <= bytes.count {
            if bytes.readUInt64(at: position) != 0 { return false }
            position += 8
        }
        while position < bytes.count {
            if bytes[position] != 0 { return false }
            position += 1
        }
        return true
    }

    static func segmentHeader(firstLSN: LSN) -> [UInt8] {
        var header = magic
        header.appendUInt32(version)
        header.appendUInt32(0)
        header.appendUInt64(firstLSN.rawValue)
        header.appendUInt32(0)
        header.appendUInt32(CRC32C.checksum(header))
        assert(header.count == segmentHeaderBytes)
        return header
    }

    enum HeaderCheck: Equatable {
        case valid(firstLSN: LSN)
        case invalid(String)
        case unsupportedVersion(UInt32)
    }

    static func checkSegmentHeader(_ bytes: UnsafeRawBufferPointer) -> HeaderCheck {
        guard bytes.count >= segmentHeaderBytes else { return .invalid("header is \(bytes.count) bytes, expected \(segmentHeaderBytes)") }
        guard bytes.prefix(8).elementsEqual(magic) else { return .invalid("bad magic") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28])) == bytes.readUInt32(at: 28) else {
            return .invalid("header checksum mismatch")
        }
        let version = bytes.readUInt32(at: 8)
        guard version == WALFormat.version else { return .unsupportedVersion(version) }
        return .valid(firstLSN: LSN(bytes.readUInt64(at: 16)))
    }

    /// Appends one frame to `buffer`, encoding the effects in place (no temporary arrays).
    /// Returns the payload size. Throws, leaving `buffer` as it was, if the payload is too large.
    @discardableResult
    static func appendFrame(epoch: Epoch, lsn: LSN, effects: [Effect], to buffer: inout [UInt8]) throws -> Int {
        let start = buffer.count
        buffer.appendUInt32(0)  // length, patched below
        buffer.appendUInt32(0)  // CRC, patched below
        buffer.appendUInt64(epoch.rawValue)
        buffer.appendUInt64(lsn.rawValue)
        Effect.encodeRecord(effects, into: &buffer)
        let payloadBytes = buffer.count - start - frameHeaderBytes
        guard payloadBytes <= maxPayloadBytes else {
            buffer.removeSubrange(start...)
            throw StorageError(.recordTooLarge, "record for LSN \(lsn) is \(payloadBytes) bytes; the limit is \(maxPayloadBytes)")
        }
        let checksum = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
        buffer.storeUInt32(UInt32(payloadBytes), at: start)
        buffer.storeUInt32(checksum, at: start + 4)
        return payloadBytes
    }

    /// One frame found by `parseFrame`.
    struct Frame {
        var epoch: Epoch
        var lsn: LSN
        var payload: Range<Int>
        /// Offset just past the frame.
        var end: Int
    }

    enum FrameDefect: Error, CustomStringConvertible {
        case incomplete
        case checksumMismatch
        case lengthTooLarge(UInt32)

        var description: String {
            switch self {
            case .incomplete: "incomplete frame"
            case .checksumMismatch: "checksum mismatch"
            case .lengthTooLarge(let length): "frame length \(length) exceeds the limit"
            }
        }
    }

    /// Parses the frame at `offset`, checking its length against the limit and the bytes
    /// that remain before its checksum, and its checksum before anything is used.
    static func parseFrame(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Result<Frame, FrameDefect> {
        let remaining = bytes.count - offset
        guard remaining >= frameHeaderBytes else { return .failure(.incomplete) }
        let length = bytes.readUInt32(at: offset)
        guard length <= maxPayloadBytes else { return .failure(.lengthTooLarge(length)) }
        let end = offset + frameHeaderBytes + Int(length)
        guard end <= bytes.count else { return .failure(.incomplete) }
        let checksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + 8)..<end]))
        guard checksum == bytes.readUInt32(at: offset + 4) else { return .failure(.checksumMismatch) }
        return .success(Frame(
            epoch: Epoch(bytes.readUInt64(at: offset + 8)),
            lsn: LSN(bytes.readUInt64(at: offset + 16)),
            payload: (offset + frameHeaderBytes)..<end,
            end: end
        ))
    }
}

