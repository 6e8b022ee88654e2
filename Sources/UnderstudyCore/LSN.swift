/// A log sequence number: the position of one record in the write-ahead log.
///
/// LSNs start at 1 and grow by exactly one per record; `LSN.zero` means "nothing yet".
public struct LSN: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static let zero = LSN(0)

    /// The LSN that follows this one.
    public var next: LSN { LSN(rawValue + 1) }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
