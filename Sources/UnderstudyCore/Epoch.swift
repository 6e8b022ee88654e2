/// A term of office for a primary. Epochs only grow; every record and message carries one.
///
/// A single node without replication runs in epoch 1.
public struct Epoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static let initial = Epoch(1)
    /// No cluster fails over 2^48 times: an epoch above this one comes from a stray or
    /// hostile request, and a node or witness refuses it (so `epoch + 1` never overflows).
    public static let highestPlausible = Epoch(UInt64(1) << 48)

    public static func < (lhs: Epoch, rhs: Epoch) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
