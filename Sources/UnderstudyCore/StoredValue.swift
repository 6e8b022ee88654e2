/// A stored string's bytes, shared with the keyspace instead of copied: what GET replies
/// with (`Reply.storedBulk`), so a read costs no allocation and the encoder copies the bytes
/// once, from the entry into the outbound buffer.
///
/// Immutable while held. `KeyTable` changes an entry in place only when it holds the only
/// reference to it (`isKnownUniquelyReferenced`, see `StoredEntry`); a `StoredValue` is a
/// second reference, so a SET, APPEND or EXPIRE that comes while a reply still holds one
/// replaces the table's entry with a copy and leaves these bytes as they were. That is also
/// why the `@unchecked Sendable` is sound: bytes that are shared are never written.
public struct StoredValue: @unchecked Sendable, Equatable, CustomStringConvertible {
    private let entry: StoredEntry

    init(_ entry: StoredEntry) {
        self.entry = entry
    }

    public var count: Int { entry.valueCount }

    /// A copy of the bytes.
    public var bytes: [UInt8] { entry.value }

    /// Calls `body` with the bytes, which MUST NOT escape it.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try entry.withValue(body)
    }

    public static func == (left: StoredValue, right: StoredValue) -> Bool {
        left.withUnsafeBytes { leftBytes in right.withUnsafeBytes { bytesEqual(leftBytes, $0) } }
    }

    /// Equal to a bulk string of the same bytes.
    public static func == (left: StoredValue, right: [UInt8]) -> Bool {
        left.withUnsafeBytes { leftBytes in right.withUnsafeBytes { bytesEqual(leftBytes, $0) } }
    }

    public var description: String { bytes.description }
}

extension Reply {
    /// The bulk reply of a stored entry's value, borrowed from it; the null bulk for nil.
    static func bulk(of entry: StoredEntry?) -> Reply {
        guard let entry else { return .nullBulk }
        return .storedBulk(StoredValue(entry))
    }
}
