/// One stored key's value and expiry.
public struct Entry: Equatable, Sendable {
    public var value: [UInt8]
    /// Absolute expiry in Unix milliseconds, or `nil` for a key that does not expire.
    public var expireAtMilliseconds: Int64?

    public init(value: [UInt8], expireAtMilliseconds: Int64? = nil) {
        self.value = value
        self.expireAtMilliseconds = expireAtMilliseconds
    }

    /// Whether the key is logically gone at `nowMilliseconds`. As in Redis, a key expires
    /// once the clock has passed its expiry time (`now > expireAt`).
    public func isExpired(atMilliseconds nowMilliseconds: Int64) -> Bool {
        guard let expireAtMilliseconds else { return false }
        return nowMilliseconds > expireAtMilliseconds
    }
}
