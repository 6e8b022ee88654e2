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
    /// Appends `suffix` to the value of `key` (keeping its expiry), or creates `key` with
    /// value `suffix` and no expiry. Logged by APPEND instead of the whole new value, so a
    /// growing string costs the log only what was appended.
    case append(key: [UInt8], suffix: [UInt8])
    /// Overwrites the value of `key` from byte `offset` with `bytes`, zero-padding a shorter
    /// value (keeping its expiry), or creates `key` that way with no expiry. Logged by SETRANGE.
    case setRange(key: [UInt8], offset: Int, bytes: [UInt8])
    /// `IDEMPOTENT <key> …` ran a command (`fingerprint`) that answered `reply`, at log time
    /// `atMilliseconds` (the primary's clock). Logged in the same record as that command's
    /// effects, so both survive a restart or a failover — or both are lost — together.
    case remember(key: [UInt8], fingerprint: UInt64, reply: Reply, atMilliseconds: Int64)
}
