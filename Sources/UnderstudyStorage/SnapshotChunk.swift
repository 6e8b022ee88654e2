public import UnderstudyCore

/// One chunk of a snapshot: a batch of entries, LZ4-compressed, framed and checksummed.
///
///     raw length u32 | compressed length u32 | CRC32C u32 | compressed bytes
///
/// The CRC covers the two lengths and the compressed bytes, and is checked before
/// anything is decompressed. Decompressed, a chunk is one `Effect.encodeRecord` of
/// `.set` effects (one per entry), so the codec is shared with the WAL.
///
/// Chunks are self-contained so that the same encoding can later be streamed to a
/// standby: `SnapshotChunkEncoder` produces framed chunks, `SnapshotChunk.decode` reads one.
public enum SnapshotChunk {
    public static let headerBytes = 12
    /// Entries are gathered until the raw chunk reaches about this size. An entry is never
    /// split, so one large value makes one large chunk.
    public static let targetRawBytes = 1 << 20
    /// The largest raw chunk a reader accepts: one maximal WAL record plus slack.
    public static let maxRawBytes = WALFormat.maxPayloadBytes + (1 << 20)

    /// The lengths in a chunk header, already checked against the limits.
    public struct Header: Sendable, Equatable {
        public var rawBytes: Int
        public var compressedBytes: Int
        public var checksum: UInt32
    }

    /// Compresses and frames one raw chunk (an encoded record).
    public static func frame(raw: [UInt8]) -> [UInt8] {
        precondition(!raw.isEmpty && raw.count <= maxRawBytes, "raw chunk of \(raw.count) bytes is outside 1...\(maxRawBytes)")
        let compressed = raw.withUnsafeBytes { LZ4Block.compress($0) }
        var framed = [UInt8](repeating: 0, count: headerBytes)
        framed.append(contentsOf: compressed)
        framed.storeUInt32(UInt32(raw.count), at: 0)
        framed.storeUInt32(UInt32(compressed.count), at: 4)
        var crc = CRC32C()
        framed.withUnsafeBytes {
            crc.update(UnsafeRawBufferPointer(rebasing: $0[0..<8]))
            crc.update(UnsafeRawBufferPointer(rebasing: $0[headerBytes...]))
        }
        framed.storeUInt32(crc.value, at: 8)
        return framed
    }

    /// Parses a chunk header, refusing lengths outside the limits. `available` is how
    /// many bytes can follow the header (e.g. what remains of the file).
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, available: Int) throws -> Header {
        guard bytes.count >= headerBytes else {
            throw StorageError(.corruptSnapshot, "chunk header is \(bytes.count) bytes, expected \(headerBytes)")
        }
        let rawBytes = Int(bytes.readUInt32(at: 0))
        let compressedBytes = Int(bytes.readUInt32(at: 4))
        guard rawBytes >= 1 && rawBytes <= maxRawBytes else {
            throw StorageError(.corruptSnapshot, "chunk raw length \(rawBytes) is outside 1...\(maxRawBytes)")
        }
        let bound = LZ4Block.bound(rawBytes: rawBytes)
        guard compressedBytes >= 1 && compressedBytes <= bound && compressedBytes <= available else {
            throw StorageError(.corruptSnapshot, "chunk compressed length \(compressedBytes) is outside 1...\(min(bound, available))")
        }
        return Header(rawBytes: rawBytes, compressedBytes: compressedBytes, checksum: bytes.readUInt32(at: 8))
    }

    /// What one chunk holds: keys with their entries, and `IDEMPOTENT` keys remembered
    /// (`.remember` effects, in the order they were remembered).
    public struct Contents {
        public var entries: [(key: [UInt8], entry: Entry)] = []
        public var remembered: [Effect] = []
    }

    /// Checks, decompresses and decodes one chunk's entries.
    public static func decode(header: Header, headerBytes headerRaw: UnsafeRawBufferPointer, compressed: UnsafeRawBufferPointer) throws -> Contents {
        var contents = Contents()
        try decode(header: header, headerBytes: headerRaw, compressed: compressed) { key, value, expireAtMilliseconds in
            contents.entries.append((Array(key), Entry(value: Array(value), expireAtMilliseconds: expireAtMilliseconds)))
        } remembered: { contents.remembered.append($0) }
        return contents
    }

    /// Checks, decompresses and decodes one chunk, handing each entry to `entry` as views
    /// into the decompressed bytes (valid only during the call: a loader copies them
    /// straight into its table, with no array per key or value) and each remembered
    /// `IDEMPOTENT` key to `remembered`.
    public static func decode(
        header: Header,
        headerBytes headerRaw: UnsafeRawBufferPointer,
        compressed: UnsafeRawBufferPointer,
        entry: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ expireAtMilliseconds: Int64?) throws -> Void,
        remembered: (Effect) throws -> Void
    ) throws {
        precondition(compressed.count == header.compressedBytes)
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(rebasing: headerRaw[0..<8]))
        crc.update(compressed)
        guard crc.value == header.checksum else {
            throw StorageError(.corruptSnapshot, "chunk checksum mismatch")
        }
        let raw: [UInt8]
        do {
            raw = try LZ4Block.decompress(compressed, rawBytes: header.rawBytes)
        } catch {
            throw StorageError(.corruptSnapshot, "chunk does not decompress: \(error)")
        }
        do {
            try raw.withUnsafeBytes { raw in
                try Effect.decodeRecord(raw, set: entry) { effect in
                    guard case .remember = effect else {
                        throw StorageError(.corruptSnapshot, "chunk holds an effect that is neither a key nor an IDEMPOTENT key")
                    }
                    try remembered(effect)
                }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.corruptSnapshot, "chunk content does not decode: \(error)")
        }
    }
}

/// Gathers entries into framed snapshot chunks of about `SnapshotChunk.targetRawBytes`.
///
/// Entries are encoded as they are added, straight from the keyspace's bytes: writing a
/// snapshot builds no `Effect` and no array per key.
public struct SnapshotChunkEncoder {
    private var encodedEffects: [UInt8] = []
    private var effectCount = 0

    public init() {}

    /// Adds one entry; returns a framed chunk when enough entries have gathered.
    public mutating func add(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expireAtMilliseconds: Int64?) -> [UInt8]? {
        Effect.encodeSet(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds, into: &encodedEffects)
        effectCount += 1
        return encodedEffects.count >= SnapshotChunk.targetRawBytes ? flush() : nil
    }

    /// Adds one entry; returns a framed chunk when enough entries have gathered.
    public mutating func add(key: [UInt8], entry: Entry) -> [UInt8]? {
        key.withUnsafeBytes { key in
            entry.value.withUnsafeBytes { value in
                add(key: key, value: value, expireAtMilliseconds: entry.expireAtMilliseconds)
            }
        }
    }

    /// Adds one remembered `IDEMPOTENT` key (after every entry: replay keeps their order).
    public mutating func add(remembered key: [UInt8], _ remembered: IdempotencyTable.Entry) -> [UInt8]? {
        Effect.remember(key: key, fingerprint: remembered.fingerprint, reply: remembered.reply,
                        atMilliseconds: remembered.atMilliseconds).encode(into: &encodedEffects)
        effectCount += 1
        return encodedEffects.count >= SnapshotChunk.targetRawBytes ? flush() : nil
    }

    /// The last, partial chunk, or nil if no entries are waiting.
    public mutating func finish() -> [UInt8]? {
        effectCount == 0 ? nil : flush()
    }

    private mutating func flush() -> [UInt8] {
        let chunk = SnapshotChunk.frame(raw: Effect.encodeRecord(effectCount: effectCount, encodedEffects: encodedEffects))
        encodedEffects.removeAll(keepingCapacity: true)
        effectCount = 0
        return chunk
    }
}
