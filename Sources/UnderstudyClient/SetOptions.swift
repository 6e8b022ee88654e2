/// SET's options: `EX`/`PX`, `NX`/`XX`, `GET`.
public struct SetOptions: Sendable, Hashable {
    public struct Expiration: Sendable, Hashable {
        let arguments: [String]
        /// `EX seconds`.
        public static func seconds(_ seconds: Int64) -> Expiration { Expiration(arguments: ["EX", String(seconds)]) }
        /// `PX milliseconds`.
        public static func milliseconds(_ milliseconds: Int64) -> Expiration {
            Expiration(arguments: ["PX", String(milliseconds)])
        }
    }

    public struct Condition: Sendable, Hashable {
        let argument: String
        /// `NX`: only if the key does not exist.
        public static let ifAbsent = Condition(argument: "NX")
        /// `XX`: only if the key exists.
        public static let ifExists = Condition(argument: "XX")
    }

    public var expiration: Expiration?
    public var condition: Condition?
    /// `GET`: answer the previous value.
    public var returnPreviousValue: Bool

    public init(expiration: Expiration? = nil, condition: Condition? = nil, returnPreviousValue: Bool = false) {
        self.expiration = expiration
        self.condition = condition
        self.returnPreviousValue = returnPreviousValue
    }

    var arguments: [String] {
        (expiration?.arguments ?? []) + (condition.map { [$0.argument] } ?? []) + (returnPreviousValue ? ["GET"] : [])
    }
}

/// What `set` did.
public struct SetOutcome: Sendable, Hashable {
    /// Whether the value was stored (false only when a condition did not hold).
    public var applied: Bool
    /// The previous value, with `returnPreviousValue` (nil: there was none).
    public var previousValue: [UInt8]?

    public init(applied: Bool, previousValue: [UInt8]?) {
        self.applied = applied
        self.previousValue = previousValue
    }
}

/// A key's remaining time to live (`TTL`).
public enum TimeToLive: Sendable, Hashable {
    case keyMissing
    case noExpiry
    case seconds(Int64)
}

/// One argument of a raw command: text (UTF-8) or bytes.
public struct RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral {
    public var bytes: [UInt8]
    public init(_ text: String) { bytes = Array(text.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(stringLiteral value: String) { self.init(value) }
}
