/// One stored key in a single heap allocation: a 24-byte header (expiry, hash, lengths,
/// capacity) followed by the key's bytes and then the value's bytes.
///
/// Why one object: a `[UInt8]` key plus a `[UInt8]` value plus a dictionary slot cost three
/// allocations and about 300 bytes per key for 64-byte values; this costs one allocation of
/// `40 + key + value` bytes (128 for redis-benchmark's keys and 64-byte values).
///
/// Sharing: `KeyTable` is a value type whose copies (snapshots) share entries. An entry
/// MUST only be mutated through `KeyTable`, which mutates it in place only when it is
/// uniquely referenced and otherwise replaces it with a copy (copy-on-write). That rule is
/// what makes `EntrySlot`'s `@unchecked Sendable` sound: a shared entry is never written.
final class StoredEntry: ManagedBuffer<StoredEntry.Header, UInt8> {
    struct Header {
        /// Valid only when `hasExpiry`.
        var expireAtMilliseconds: Int64
        /// The key's hash as the table uses it (its tag and home slot).
        var hash: UInt32
        /// The key's length in the low 31 bits; bit 31 says whether the key expires.
        var keyCountAndExpiryFlag: UInt32
        var valueCount: UInt32
        /// Bytes allocated for key and value together.
        var byteCapacity: UInt32
    }

    private static let expiryFlag: UInt32 = 1 << 31
    /// Keys and values are at most 512 MiB (`proto-max-bulk-len`); both fit with room to
    /// grow a value by doubling.
    static let maximumBytes = Int(UInt32.max)

    /// A new entry holding copies of `key` and `value`, with room for `extraCapacity` more
    /// value bytes (for a value that grows by APPEND/SETRANGE).
    static func make(
        hash: UInt32,
        key: UnsafeRawBufferPointer,
        value: UnsafeRawBufferPointer,
        expireAtMilliseconds: Int64?,
        extraCapacity: Int = 0
    ) -> StoredEntry {
        precondition(key.count < Int(expiryFlag), "Key of \(key.count) bytes is too long to store")
        let capacity = key.count + value.count + extraCapacity
        precondition(capacity <= maximumBytes, "Entry of \(capacity) bytes is too large to store")
        let buffer = StoredEntry.create(minimumCapacity: capacity) { _ in
            Header(
                expireAtMilliseconds: expireAtMilliseconds ?? 0,
                hash: hash,
                keyCountAndExpiryFlag: UInt32(key.count) | (expireAtMilliseconds == nil ? 0 : expiryFlag),
                valueCount: UInt32(value.count),
                byteCapacity: UInt32(capacity)
            )
        }
        let entry = unsafeDowncast(buffer, to: StoredEntry.self)
        entry.withUnsafeMutablePointerToElements { bytes in
            if let base = key.baseAddress { UnsafeMutableRawPointer(bytes).copyMemory(from: base, byteCount: key.count) }
            if let base = value.baseAddress {
                UnsafeMutableRawPointer(bytes + key.count).copyMemory(from: base, byteCount: value.count)
            }
        }
        return entry
    }

    var hash: UInt32 { header.hash }
    var keyCount: Int { Int(header.keyCountAndExpiryFlag & ~Self.expiryFlag) }
    var valueCount: Int { Int(header.valueCount) }
    var byteCapacity: Int { Int(header.byteCapacity) }

    var expireAtMilliseconds: Int64? {
        get { header.keyCountAndExpiryFlag & Self.expiryFlag == 0 ? nil : header.expireAtMilliseconds }
        set {
            header.expireAtMilliseconds = newValue ?? 0
            header.keyCountAndExpiryFlag = UInt32(keyCount) | (newValue == nil ? 0 : Self.expiryFlag)
        }
    }

    /// As `Entry.isExpired`: expired once the clock has passed the expiry time.
    func isExpired(atMilliseconds nowMilliseconds: Int64) -> Bool {
        guard let expireAtMilliseconds else { return false }
        return nowMilliseconds > expireAtMilliseconds
    }

    func withKey<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let count = keyCount
        return try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    func withValue<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let start = keyCount
        let count = valueCount
        return try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0 + start, count: count)) }
    }

    func keyEquals(_ key: UnsafeRawBufferPointer) -> Bool {
        withKey { bytesEqual($0, key) }
    }

    var key: [UInt8] { withKey { Array($0) } }
    var value: [UInt8] { withValue { Array($0) } }
    var entry: Entry { Entry(value: value, expireAtMilliseconds: expireAtMilliseconds) }

    /// Replaces the whole value with `bytes`. The caller MUST own this entry uniquely and
    /// MUST have checked that `bytes` fits `byteCapacity`.
    func replaceValue(with bytes: UnsafeRawBufferPointer) {
        header.valueCount = 0
        overwriteValue(at: 0, with: bytes)
    }

    /// Writes `bytes` into the value at `offset`, which may lie past the value's end (the
    /// gap is zero-filled) as long as the result fits the capacity. The caller MUST own this entry
    /// uniquely and MUST have checked that the result fits `byteCapacity`.
    func overwriteValue(at offset: Int, with bytes: UnsafeRawBufferPointer) {
        let start = keyCount
        let end = offset + bytes.count
        precondition(start + end <= byteCapacity, "Internal inconsistency: value write past the entry's capacity")
        let oldCount = valueCount
        withUnsafeMutablePointerToElements { elements in
            let value = elements + start
            if offset > oldCount { (value + oldCount).initialize(repeating: 0, count: offset - oldCount) }
            if let base = bytes.baseAddress { UnsafeMutableRawPointer(value + offset).copyMemory(from: base, byteCount: bytes.count) }
        }
        header.valueCount = UInt32(max(oldCount, end))
    }
}

/// Byte equality of two equally long buffers, eight bytes at a time (the core imports no
/// `memcmp`).
@inline(__always)
func bytesEqual(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
    let count = left.count
    guard count == right.count else { return false }
    var offset = 0
    while offset + 8 <= count {
        if left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            != right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
        offset += 8
    }
    while offset < count {
        if left[offset] != right[offset] { return false }
        offset += 1
    }
    return true
}
