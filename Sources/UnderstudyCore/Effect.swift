/// A change to the keyspace, as written to the write-ahead log.
///
/// The WAL records effects, not commands: replaying the same effects on the same keyspace
/// always yields the same state, on any node, at any time. So `INCRBYFLOAT` logs the value
/// it produced, a relative expiry logs its absolute time, and a conditional write that
/// changed nothing logs nothing. Expiry itself is an effect: a key that expired is removed
/// by a logged `.delete`, never by each node's own clock.
public enum Effect: Equatable, Sendable {
    /// Sets `key` to `value` with the given absolute expiry (Unix milliseconds), or none.
    case set(key: [UInt8], value: [UInt8], expireAtMilliseconds: Int64?)
    /// Removes `key` if present.
    case delete(key: [UInt8])
    /// Changes the expiry of an existing `key`; `nil` removes it (PERSIST).
    case setExpiry(key: [UInt8], expireAtMilliseconds: Int64?)
    /// Moves the value and expiry of `from` to `to`, replacing `to`.
    case rename(from: [UInt8], to: [UInt8])
    /// Removes every key.
    case flushAll
}
