/// The in-memory data set of one node (database 0).
///
/// A pure value: no clock, no I/O. Commands read it and produce `Effect`s; `apply(_:)`
/// is the only way it changes, so that executing a command and replaying its logged
/// effects always produce the same state.
///
/// Besides `entries`, `apply` keeps three derived indexes up to date incrementally (none of
/// them is part of the logical state, and none is compared by replication):
/// - `keyOrder`: keys in insertion order, for SCAN's cursor and RANDOMKEY's O(1) pick;
/// - `expiryQueue`: a min-heap of expiry times, for the active expire cycle;
/// - `keysWithExpiryCount`, for INFO keyspace.
public struct Keyspace: Sendable {
    public private(set) var entries: [[UInt8]: Entry]
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

    var keyOrder = KeyOrder()
    var expiryQueue = ExpiryQueue()

    public init(entries: [[UInt8]: Entry] = [:]) {
        self.entries = [:]
        for (key, entry) in entries {
            apply(.set(key: key, value: entry.value, expireAtMilliseconds: entry.expireAtMilliseconds))
        }
    }

    public var count: Int { entries.count }

    /// Applies one logged effect. Deterministic: uses no clock.
    public mutating func apply(_ effect: Effect) {
        switch effect {
        case .set(let key, let value, let expireAtMilliseconds):
            store(Entry(value: value, expireAtMilliseconds: expireAtMilliseconds), forKey: key)
        case .delete(let key):
            remove(key)
        case .setExpiry(let key, let expireAtMilliseconds):
            guard var entry = entries[key] else { return }
            entry.expireAtMilliseconds = expireAtMilliseconds
            store(entry, forKey: key)
        case .rename(let from, let to):
            guard let entry = entries[from] else { return }
            remove(from)
            store(entry, forKey: to)
        case .append(let key, let suffix):
            // Mutate in place (no copy of a long value) when the key exists.
            if entries[key] != nil {
                entries[key]!.value.append(contentsOf: suffix)
            } else {
                store(Entry(value: suffix), forKey: key)
            }
        case .setRange(let key, let offset, let bytes):
            if entries[key] != nil {
                Self.overwrite(&entries[key]!.value, at: offset, with: bytes)
            } else {
                var value: [UInt8] = []
                Self.overwrite(&value, at: offset, with: bytes)
                store(Entry(value: value), forKey: key)
            }
        case .remember(let key, let fingerprint, let reply, let atMilliseconds):
            // Not a key: FLUSHALL leaves it, and a retry after one still runs once.
            idempotency.remember(key, fingerprint: fingerprint, reply: reply, atMilliseconds: atMilliseconds)
        case .flushAll:
            entries.removeAll()
            keyOrder.removeAll()
            expiryQueue.removeAll()
            keysWithExpiryCount = 0
        }
    }

    /// SETRANGE's byte patch: zero-pads `value` up to `offset + bytes.count`, then overwrites.
    private static func overwrite(_ value: inout [UInt8], at offset: Int, with bytes: [UInt8]) {
        let end = offset + bytes.count
        if value.count < end { value.append(contentsOf: repeatElement(0, count: end - value.count)) }
        value.replaceSubrange(offset..<end, with: bytes)
    }

    public mutating func apply(_ effects: [Effect]) {
        for effect in effects { apply(effect) }
    }

    private mutating func store(_ entry: Entry, forKey key: [UInt8]) {
        let previous = entries.updateValue(entry, forKey: key)
        if previous == nil { keyOrder.append(key) }
        if previous?.expireAtMilliseconds != nil { keysWithExpiryCount -= 1 }
        if let expireAtMilliseconds = entry.expireAtMilliseconds {
            keysWithExpiryCount += 1
            if previous?.expireAtMilliseconds != expireAtMilliseconds {
                expiryQueue.push(expireAtMilliseconds: expireAtMilliseconds, key: key)
            }
        }
        compactExpiryQueueIfNeeded()
    }

    private mutating func remove(_ key: [UInt8]) {
        guard let previous = entries.removeValue(forKey: key) else { return }
        keyOrder.remove(key)
        if previous.expireAtMilliseconds != nil { keysWithExpiryCount -= 1 }
        compactExpiryQueueIfNeeded()
    }

    /// Drops stale heap items once they outnumber the live ones, so the queue stays
    /// O(keys with expiry) in size; amortised O(1) per push.
    private mutating func compactExpiryQueueIfNeeded() {
        guard expiryQueue.count > 2 * keysWithExpiryCount + 1024 else { return }
        let entries = self.entries
        expiryQueue.compact { key, expireAtMilliseconds in
            entries[key]?.expireAtMilliseconds == expireAtMilliseconds
        }
    }
}
