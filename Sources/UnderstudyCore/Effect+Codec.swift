/// The binary encoding of effects: the payload of one WAL record (and of one snapshot
/// chunk, whose entries are encoded as `.set` effects).
///
/// Layout of a record (all integers little-endian; `varint` is unsigned LEB128, at most
/// 10 bytes, canonical):
///
///     u8      codec version (1)
///     varint  effect count
///     effect* each: u8 tag, then its fields
///
/// | tag | effect                         | fields                               |
/// |-----|--------------------------------|--------------------------------------|
/// | 1   | set, no expiry                 | key, value                           |
/// | 2   | set with expiry                | key, value, i64 expireAtMilliseconds |
/// | 3   | delete                         | key                                  |
/// | 4   | setExpiry(nil) (PERSIST)       | key                                  |
/// | 5   | setExpiry(ms)                  | key, i64 expireAtMilliseconds        |
/// | 6   | rename                         | from, to                             |
/// | 7   | flushAll                       | —                                    |
/// | 8   | append                         | key, suffix                          |
/// | 9   | setRange                       | key, varint offset, bytes            |
/// | 10  | remember (IDEMPOTENT)          | key, u64 fingerprint, i64 atMilliseconds, reply |
///
/// A reply is a u8 kind, then: 1 simple (bytes), 2 error (bytes), 3 integer (i64), 4 bulk
/// (bytes), 5 null bulk, 6 array (varint count, replies), 7 null array — nested at most
/// `EffectEncoding.maxReplyDepth` deep.
///
/// A byte string (key, value, from, to) is a varint length followed by the bytes.
///
/// Decoding treats its input as hostile: every length is checked against the bytes that
/// remain before anything is allocated, trailing bytes are refused, and malformed input
/// throws an `EffectCodecError` — it never traps.
extension Effect {
    /// The codec version written by this build. Decoders MUST refuse versions they do not
    /// know rather than guess.
    public static let codecVersion: UInt8 = 1

    /// Appends the encoding of one record (version, count, effects) to `buffer`.
    ///
    /// Appends in place so that the WAL can encode straight into its pending buffer.
    public static func encodeRecord(_ effects: [Effect], into buffer: inout [UInt8]) {
        buffer.append(codecVersion)
        EffectEncoding.appendVarint(UInt64(effects.count), to: &buffer)
        for effect in effects {
            effect.encode(into: &buffer)
        }
    }

    /// A record of `effectCount` effects whose encodings (`encode(into:)`, `encodeSet`) are
    /// already concatenated in `encodedEffects`.
    public static func encodeRecord(effectCount: Int, encodedEffects: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(encodedEffects.count + 11)
        buffer.append(codecVersion)
        EffectEncoding.appendVarint(UInt64(effectCount), to: &buffer)
        buffer.append(contentsOf: encodedEffects)
        return buffer
    }

    /// Appends the encoding of `.set(key, value, expireAtMilliseconds)` straight from the
    /// bytes (the snapshot writer's path, which builds no `Effect`). The same bytes as
    /// `encode(into:)` of that effect.
    public static func encodeSet(
        key: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer,
        expireAtMilliseconds: Int64?,
        into buffer: inout [UInt8]
    ) {
        buffer.append(expireAtMilliseconds == nil ? EffectEncoding.Tag.set : EffectEncoding.Tag.setWithExpiry)
        EffectEncoding.appendBytes(key, to: &buffer)
        EffectEncoding.appendBytes(value, to: &buffer)
        if let expireAtMilliseconds { EffectEncoding.appendInt64(expireAtMilliseconds, to: &buffer) }
    }

    /// The encoding of one record (version, count, effects).
    public static func encodeRecord(_ effects: [Effect]) -> [UInt8] {
        var buffer: [UInt8] = []
        encodeRecord(effects, into: &buffer)
        return buffer
    }

    /// Decodes one record produced by `encodeRecord`.
    ///
    /// - Throws: `EffectCodecError` when `bytes` is not exactly one well-formed record.
    public static func decodeRecord(_ bytes: UnsafeRawBufferPointer) throws -> [Effect] {
        var effects: [Effect] = []
        try decodeRecord(bytes, reserve: { effects.reserveCapacity($0) }) { key, value, expireAtMilliseconds in
            effects.append(.set(key: Array(key), value: Array(value), expireAtMilliseconds: expireAtMilliseconds))
        } other: { effects.append($0) }
        return effects
    }

    /// Decodes one record produced by `encodeRecord` without building a `[UInt8]` for the
    /// keys and values of its `.set` effects: `set` gets them as views into `bytes`, valid
    /// only during the call (a snapshot's load copies them straight into the keyspace's
    /// table). Every other effect is decoded as usual and handed to `other`. `reserve` gets
    /// an upper bound on the number of effects before the first is decoded.
    ///
    /// - Throws: `EffectCodecError` as `decodeRecord(_:)`, or what a closure throws.
    public static func decodeRecord(
        _ bytes: UnsafeRawBufferPointer,
        reserve: (Int) -> Void = { _ in },
        set: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ expireAtMilliseconds: Int64?) throws -> Void,
        other: (Effect) throws -> Void
    ) throws {
        var reader = EffectDecoding(bytes: bytes)
        let version = try reader.readByte()
        guard version == codecVersion else {
            throw EffectCodecError(.unsupportedVersion, at: 0, "codec version \(version) is not supported (expected \(codecVersion))")
        }
        let count = try reader.readVarint()
        // Every effect takes at least one byte: a larger count cannot be honest.
        guard count <= UInt64(reader.remaining) else {
            throw EffectCodecError(.truncated, at: reader.offset, "effect count \(count) exceeds the \(reader.remaining) bytes that remain")
        }
        reserve(Int(count))
        for _ in 0..<count {
            if let (key, value, expireAtMilliseconds) = try reader.readSetSlices() {
                try set(key, value, expireAtMilliseconds)
            } else {
                try other(try reader.readEffect())
            }
        }
        guard reader.remaining == 0 else {
            throw EffectCodecError(.trailingBytes, at: reader.offset, "\(reader.remaining) bytes follow the last effect")
        }
    }

    /// Decodes one record produced by `encodeRecord`.
    public static func decodeRecord(_ bytes: some Collection<UInt8>) throws -> [Effect] {
        if let result = try bytes.withContiguousStorageIfAvailable({ try decodeRecord(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return try Array(bytes).withUnsafeBytes { try decodeRecord($0) }
    }

    /// Appends the encoding of this single effect (tag and fields, no record header).
    public func encode(into buffer: inout [UInt8]) {
        switch self {
        case .set(let key, let value, let expireAtMilliseconds):
            key.withUnsafeBytes { key in
                value.withUnsafeBytes { value in
                    Self.encodeSet(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds, into: &buffer)
                }
            }
        case .delete(let key):
            buffer.append(EffectEncoding.Tag.delete)
            EffectEncoding.appendBytes(key, to: &buffer)
        case .setExpiry(let key, let expireAtMilliseconds):
            buffer.append(expireAtMilliseconds == nil ? EffectEncoding.Tag.persist : EffectEncoding.Tag.setExpiry)
            EffectEncoding.appendBytes(key, to: &buffer)
            if let expireAtMilliseconds { EffectEncoding.appendInt64(expireAtMilliseconds, to: &buffer) }
        case .rename(let from, let to):
            buffer.append(EffectEncoding.Tag.rename)
            EffectEncoding.appendBytes(from, to: &buffer)
            EffectEncoding.appendBytes(to, to: &buffer)
        case .flushAll:
            buffer.append(EffectEncoding.Tag.flushAll)
        case .append(let key, let suffix):
            buffer.append(EffectEncoding.Tag.append)
            EffectEncoding.appendBytes(key, to: &buffer)
            EffectEncoding.appendBytes(suffix, to: &buffer)
        case .setRange(let key, let offset, let bytes):
            buffer.append(EffectEncoding.Tag.setRange)
            EffectEncoding.appendBytes(key, to: &buffer)
            EffectEncoding.appendVarint(UInt64(offset), to: &buffer)
            EffectEncoding.appendBytes(bytes, to: &buffer)
        case .remember(let key, let fingerprint, let reply, let atMilliseconds):
            buffer.append(EffectEncoding.Tag.remember)
            EffectEncoding.appendBytes(key, to: &buffer)
            EffectEncoding.appendInt64(Int64(bitPattern: fingerprint), to: &buffer)
            EffectEncoding.appendInt64(atMilliseconds, to: &buffer)
            EffectEncoding.appendReply(reply, to: &buffer)
        }
    }
}

/// Why a byte string is not a valid effect record.
public struct EffectCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of defect. A struct so that codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input ends inside a field.
        public static let truncated = Code("truncated")
        /// The record's codec version is unknown to this build.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// An effect tag is unknown.
        public static let unknownTag = Code("unknownTag")
        /// A varint is longer than 10 bytes, overflows 64 bits, or is not minimal.
        public static let invalidVarint = Code("invalidVarint")
        /// A field is out of its allowed range.
        public static let invalidValue = Code("invalidValue")
        /// Bytes remain after the last effect.
        public static let trailingBytes = Code("trailingBytes")
    }

    public var code: Code
    /// Byte offset within the record where the defect was found.
    public var offset: Int
    public var message: String

    public init(_ code: Code, at offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(code) at byte \(offset): \(message)" }
}

/// Encoding primitives shared by the record encoder.
private enum EffectEncoding {
    enum Tag {
        static let set: UInt8 = 1
        static let setWithExpiry: UInt8 = 2
        static let delete: UInt8 = 3
        static let persist: UInt8 = 4
        static let setExpiry: UInt8 = 5
        static let rename: UInt8 = 6
        static let flushAll: UInt8 = 7
        static let append: UInt8 = 8
        static let setRange: UInt8 = 9
        static let remember: UInt8 = 10
    }

    /// Keyspace replies nest two deep at most (SCAN); a little room, and no more.
    static let maxReplyDepth = 4

    static func appendReply(_ reply: Reply, to buffer: inout [UInt8]) {
        switch reply {
        case .simple(let text):
            buffer.append(1)
            appendBytes(Array(text.utf8), to: &buffer)
        case .error(let text):
            buffer.append(2)
            appendBytes(Array(text.utf8), to: &buffer)
        case .integer(let value):
            buffer.append(3)
            appendInt64(value, to: &buffer)
        case .bulk(let bytes?):
            buffer.append(4)
            appendBytes(bytes, to: &buffer)
        case .storedBulk(let value):
            buffer.append(4)
            value.withUnsafeBytes { appendBytes($0, to: &buffer) }
        case .bulk(nil):
            buffer.append(5)
        case .array(let elements?):
            buffer.append(6)
            appendVarint(UInt64(elements.count), to: &buffer)
            for element in elements { appendReply(element, to: &buffer) }
        case .array(nil):
            buffer.append(7)
        case .null, .double, .boolean, .bigNumber, .verbatim, .map, .set, .push:
            // Keyspace commands answer with RESP2 types; a RESP3 one is kept in its RESP2 shape.
            appendReply(reply.resp2Shape, to: &buffer)
        }
    }

    static func appendVarint(_ value: UInt64, to buffer: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    static func appendBytes(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        appendVarint(UInt64(bytes.count), to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    static func appendBytes(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        appendVarint(UInt64(bytes.count), to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    static func appendInt64(_ value: Int64, to buffer: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 0, to: 64, by: 8) {
            buffer.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }
}

/// A bounds-checked cursor over a record being decoded.
private struct EffectDecoding {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func readByte() throws -> UInt8 {
        guard remaining >= 1 else { throw EffectCodecError(.truncated, at: offset, "expected 1 more byte") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readVarint() throws -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 63 || (shift == 63 && byte <= 1) else {
                throw EffectCodecError(.invalidVarint, at: start, "varint overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else {
                    throw EffectCodecError(.invalidVarint, at: start, "varint is not minimally encoded")
                }
                return value
            }
            shift += 7
        }
    }

    mutating func readBytes() throws -> [UInt8] {
        Array(try readSlice())
    }

    /// A length-prefixed byte string as a view into `bytes`.
    mutating func readSlice() throws -> UnsafeRawBufferPointer {
        let start = offset
        let length = try readVarint()
        guard length <= UInt64(remaining) else {
            throw EffectCodecError(.truncated, at: start, "byte string of \(length) bytes exceeds the \(remaining) bytes that remain")
        }
        let end = offset + Int(length)
        defer { offset = end }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
    }

    /// The next effect's key, value and expiry as views into `bytes` when it is a `.set`;
    /// nil, with nothing consumed, for any other effect.
    mutating func readSetSlices() throws -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int64?)? {
        guard remaining >= 1 else { return nil }
        switch bytes[offset] {
        case EffectEncoding.Tag.set:
            offset += 1
            return (try readSlice(), try readSlice(), nil)
        case EffectEncoding.Tag.setWithExpiry:
            offset += 1
            return (try readSlice(), try readSlice(), try readInt64())
        default:
            return nil
        }
    }

    mutating func readInt64() throws -> Int64 {
        guard remaining >= 8 else { throw EffectCodecError(.truncated, at: offset, "expected 8 bytes, \(remaining) remain") }
        defer { offset += 8 }
        return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    mutating func readEffect() throws -> Effect {
        let start = offset
        switch try readByte() {
        case EffectEncoding.Tag.set:
            return .set(key: try readBytes(), value: try readBytes(), expireAtMilliseconds: nil)
        case EffectEncoding.Tag.setWithExpiry:
            return .set(key: try readBytes(), value: try readBytes(), expireAtMilliseconds: try readInt64())
        case EffectEncoding.Tag.delete:
            return .delete(key: try readBytes())
        case EffectEncoding.Tag.persist:
            return .setExpiry(key: try readBytes(), expireAtMilliseconds: nil)
        case EffectEncoding.Tag.setExpiry:
            return .setExpiry(key: try readBytes(), expireAtMilliseconds: try readInt64())
        case EffectEncoding.Tag.rename:
            return .rename(from: try readBytes(), to: try readBytes())
        case EffectEncoding.Tag.flushAll:
            return .flushAll
        case EffectEncoding.Tag.append:
            return .append(key: try readBytes(), suffix: try readBytes())
        case EffectEncoding.Tag.setRange:
            let key = try readBytes()
            let offsetStart = offset
            let rangeOffset = try readVarint()
            // A string may not exceed 512 MB (Redis's proto-max-bulk-len): refuse a larger
            // offset before it can trap or allocate.
            guard rangeOffset <= 512 << 20 else {
                throw EffectCodecError(.invalidValue, at: offsetStart, "setRange offset \(rangeOffset) exceeds 512 MB")
            }
            return .setRange(key: key, offset: Int(rangeOffset), bytes: try readBytes())
        case EffectEncoding.Tag.remember:
            let key = try readBytes()
            let fingerprint = UInt64(bitPattern: try readInt64())
            let atMilliseconds = try readInt64()
            return .remember(key: key, fingerprint: fingerprint, reply: try readReply(depth: 0), atMilliseconds: atMilliseconds)
        case let tag:
            throw EffectCodecError(.unknownTag, at: start, "unknown effect tag \(tag)")
        }
    }

    mutating func readReply(depth: Int) throws -> Reply {
        let start = offset
        switch try readByte() {
        case 1: return .simple(String(decoding: try readBytes(), as: UTF8.self))
        case 2: return .error(String(decoding: try readBytes(), as: UTF8.self))
        case 3: return .integer(try readInt64())
        case 4: return .bulk(try readBytes())
        case 5: return .bulk(nil)
        case 6:
            guard depth < EffectEncoding.maxReplyDepth else {
                throw EffectCodecError(.invalidValue, at: start, "reply nested deeper than \(EffectEncoding.maxReplyDepth)")
            }
            let count = try readVarint()
            guard count <= UInt64(remaining) else {
                throw EffectCodecError(.truncated, at: start, "array of \(count) replies exceeds the \(remaining) bytes that remain")
            }
            var elements: [Reply] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<count { elements.append(try readReply(depth: depth + 1)) }
            return .array(elements)
        case 7: return .array(nil)
        case let kind: throw EffectCodecError(.invalidValue, at: start, "unknown reply kind \(kind)")
        }
    }
}
