/// The in-memory data set of one node (database 0).
///
/// A pure value: no clock, no I/O. Commands read it and produce `Effect`s; `apply(_:)`
/// is the only way it changes, so that executing a command and replaying its logged
/// effects always produce the same state.
///
/// `entries` (a `KeyTable`) also keeps the keys' insertion order, for SCAN's cursor and
/// RANDOMKEY's O(1) pick. Besides it, `apply` keeps two derived indexes up to date
/// incrementally (neither is part of the logical state, nor compared by replication):
/// - `expiryQueue`: a min-heap of expiry times, for the active expire cycle;
/// - `keysWithExpiryCount`, for INFO keyspace.
///
/// Copying a keyspace (for a snapshot) is O(1); the copy never sees later writes (see
/// `KeyTable`).
public struct Keyspace: Sendable {
    public private(set) var entries: KeyTable
    /// How many stored keys carry an expiry (expired keys not yet deleted included, as in
    /// Redis's `expires` count). Maintained by `apply`, never by scanning.
    public private(set) var keysWithExpiryCount: Int = 0
    /// Whether a command that meets an expired key deletes it (and logs `.delete`).
    ///
    /// A primary MUST leave this `true`. A standby SHOULD set it to `false`: like a Redis
    /// replica it then reports expired keys as missing but leaves their deletion to the
    /// primary's logged `.delete`, so its clock never changes its data.
    public var deletesExpiredKeys: Bool = true

    /// `IDEMPOTENT` keys and the replies they got (from logged `.remember` effects).
    public internal(set) var idempotency = IdempotencyTable()

    var expiryQueue = ExpiryQueue()

    public init(entries: [[UInt8]: Entry] = [:]) {
        self.entries = KeyTable()
        for (key, entry) in entries {
            apply(.set(key: key, value: entry.value, expireAtMilliseconds: entry.expireAtMilliseconds))
        }
    }

    /// A keyspace holding `table` (a snapshot load builds the table directly, with its final
    /// capacity reserved); the derived indexes are computed from it.
    public init(table: KeyTable) {
        self.entries = table
        table.forEachEntry { key, _, expireAtMilliseconds in
            guard let expireAtMilliseconds else { return }
            keysWithExpiryCount += 1
            expiryQueue.push(expireAtMilliseconds: expireAtMilliseconds, key: Array(key))
        }
    }

    public var count: Int { entries.count }

    /// Applies one logged effect. Deterministic: uses no clock.
    public mutating func apply(_ effect: Effect) {
        switch effect {
        case .set(let key, let value, let expireAtMilliseconds):
            let replaced = entries.set(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds)
            noteExpiryChange(of: key, from: replaced, to: expireAtMilliseconds)
        case .delete(let key):
            remove(key)
        case .setExpiry(let key, let expireAtMilliseconds):
            let replaced = entries.setExpiry(key, expireAtMilliseconds)
            if replaced.existed { noteExpiryChange(of: key, from: replaced, to: expireAtMilliseconds) }
        case .rename(let from, let to):
            guard let entry = entries.remove(from) else { return }
            if entry.expireAtMilliseconds != nil { keysWithExpiryCount -= 1 }
            entry.withValue { value in
                to.withUnsafeBytes { to in
                    let replaced = entries.set(key: to, value: value, expireAtMilliseconds: entry.expireAtMilliseconds)
                    noteExpiryChange(of: Array(to), from: replaced, to: entry.expireAtMilliseconds)
                }
            }
        case .append(let key, let suffix):
            // Patched in place (amortised growth) when the key exists.
            if !entries.patchValue(key, at: nil, with: suffix) {
                apply(.set(key: key, value: suffix, expireAtMilliseconds: nil))
            }
        case .setRange(let key, let offset, let bytes):
            if !entries.patchValue(key, at: offset, with: bytes) {
                var value = [UInt8](repeating: 0, count: offset)
                value.append(contentsOf: bytes)
                apply(.set(key: key, value: value, expireAtMilliseconds: nil))
            }
        case .remember(let key, let fingerprint, let reply, let atMilliseconds):
            // Not a key: FLUSHALL leaves it, and a retry after one still runs once.
            idempotency.remember(key, fingerprint: fingerprint, reply: reply, atMilliseconds: atMilliseconds)
        case .flushAll:
            entries.removeAll()
            expiryQueue.removeAll()
            keysWithExpiryCount = 0
        }
    }

    public mutating func apply(_ effects: [Effect]) {
        for effect in effects { apply(effect) }
    }

    /// Keeps `keysWithExpiryCount` and `expiryQueue` in step with a key whose expiry went
    /// from `replaced` (what was there before, if anything) to `expireAtMilliseconds`.
    private mutating func noteExpiryChange(of key: [UInt8], from replaced: KeyTable.Replaced, to expireAtMilliseconds: Int64?) {
        if replaced.expireAtMilliseconds != nil { keysWithExpiryCount -= 1 }
        if let expireAtMilliseconds {
            keysWithExpiryCount += 1
            if replaced.expireAtMilliseconds != expireAtMilliseconds {
                expiryQueue.push(expireAtMilliseconds: expireAtMilliseconds, key: key)
            }
        }
        compactExpiryQueueIfNeeded()
    }

    private mutating func remove(_ key: [UInt8]) {
        guard let previous = entries.remove(key) else { return }
        if previous.expireAtMilliseconds != nil { keysWithExpiryCount -= 1 }
        compactExpiryQueueIfNeeded()
    }

    /// Drops stale heap items once they outnumber the live ones, so the queue stays
    /// O(keys with expiry) in size; amortised O(1) per push.
    private mutating func compactExpiryQueueIfNeeded() {
        guard expiryQueue.count > 2 * keysWithExpiryCount + 1024 else { return }
        let entries = self.entries
        expiryQueue.compact { key, expireAtMilliseconds in
            entries.storedEntry(key)?.expireAtMilliseconds == expireAtMilliseconds
        }
    }
}
