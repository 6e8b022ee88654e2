/// EXPIRE and friends, TTL and friends, PERSIST, and the active expire cycle.
extension Keyspace {
    private struct ExpireConditions: OptionSet {
        let rawValue: UInt8
        static let onlyIfNoExpiry = ExpireConditions(rawValue: 1 << 0)  // NX
        static let onlyIfExpiry = ExpireConditions(rawValue: 1 << 1)  // XX
        static let onlyIfGreater = ExpireConditions(rawValue: 1 << 2)  // GT
        static let onlyIfLess = ExpireConditions(rawValue: 1 << 3)  // LT
    }

    /// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT], as Redis 7's
    /// `expireGenericCommand`: a time at or before now deletes the key.
    mutating func expire(_ context: inout ExecutionContext, unit: ExpiryUnit, relative: Bool) throws(CommandError) -> Reply {
        let commandName = (unit == .seconds ? "" : "p") + (relative ? "expire" : "expireat")
        let conditions = try Self.expireConditions(context.arguments.dropFirst(3))
        guard var when = RedisNumber.parseInt64(context.arguments[2]) else { throw .notAnInteger }
        if unit == .seconds {
            guard when <= Int64.max / 1000 && when >= Int64.min / 1000 else { throw .invalidExpireTime(commandName) }
            when *= 1000
        }
        let base = relative ? context.nowMilliseconds : 0
        guard when <= Int64.max &- base else { throw .invalidExpireTime(commandName) }
        when = when &+ base
        let key = context.arguments[1]
        guard let entry = liveEntry(key, &context) else { return .integer(0) }
        let current = entry.expireAtMilliseconds
        if conditions.contains(.onlyIfNoExpiry) && current != nil { return .integer(0) }
        if conditions.contains(.onlyIfExpiry) && current == nil { return .integer(0) }
        if conditions.contains(.onlyIfGreater) {
            // No expiry counts as infinite: GT never beats it.
            guard let current, when > current else { return .integer(0) }
        }
        if conditions.contains(.onlyIfLess), let current, when >= current { return .integer(0) }
        if when <= context.nowMilliseconds {
            record(.delete(key: key), in: &context)
        } else if current != when {
            record(.setExpiry(key: key, expireAtMilliseconds: when), in: &context)
        }
        return .integer(1)
    }

    private static func expireConditions(_ options: ArraySlice<[UInt8]>) throws(CommandError) -> ExpireConditions {
        var conditions: ExpireConditions = []
        for option in options {
            if matchesWord(option, "nx") {
                conditions.insert(.onlyIfNoExpiry)
            } else if matchesWord(option, "xx") {
                conditions.insert(.onlyIfExpiry)
            } else if matchesWord(option, "gt") {
                conditions.insert(.onlyIfGreater)
            } else if matchesWord(option, "lt") {
                conditions.insert(.onlyIfLess)
            } else {
                let text = String(decoding: RedisNumber.cString(option), as: UTF8.self)
                throw CommandError("ERR Unsupported option \(text)")
            }
        }
        if conditions.contains(.onlyIfNoExpiry)
            && !conditions.isDisjoint(with: [.onlyIfExpiry, .onlyIfGreater, .onlyIfLess]) {
            throw CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if conditions.isSuperset(of: [.onlyIfGreater, .onlyIfLess]) {
            throw CommandError("ERR GT and LT options at the same time are not compatible")
        }
        return conditions
    }

    /// TTL / PTTL: -2 for a missing key, -1 for a key without expiry. TTL rounds to the
    /// nearest second, as Redis does.
    mutating func timeToLive(_ context: inout ExecutionContext, unit: ExpiryUnit) -> Reply {
        guard let entry = liveEntry(context.arguments[1], &context) else { return .integer(-2) }
        guard let expireAt = entry.expireAtMilliseconds else { return .integer(-1) }
        let remaining = max(expireAt &- context.nowMilliseconds, 0)
        if unit == .milliseconds { return .integer(remaining) }
        return .integer(remaining / 1000 + (remaining % 1000 >= 500 ? 1 : 0))
    }

    /// EXPIRETIME / PEXPIRETIME: the absolute expiry, -2 missing, -1 none. Seconds are
    /// rounded to the nearest second, as Redis 7 does.
    mutating func expireTime(_ context: inout ExecutionContext, unit: ExpiryUnit) -> Reply {
        guard let entry = liveEntry(context.arguments[1], &context) else { return .integer(-2) }
        guard let expireAt = entry.expireAtMilliseconds else { return .integer(-1) }
        guard unit == .seconds else { return .integer(expireAt) }
        return .integer(expireAt / 1000 + (expireAt % 1000 >= 500 ? 1 : 0))
    }

    mutating func persist(_ context: inout ExecutionContext) -> Reply {
        let key = context.arguments[1]
        guard let entry = liveEntry(key, &context), entry.expireAtMilliseconds != nil else { return .integer(0) }
        record(.setExpiry(key: key, expireAtMilliseconds: nil), in: &context)
        return .integer(1)
    }

    /// The active expire cycle: deletes up to `maximumKeys` keys that have expired at
    /// `nowMilliseconds`, earliest expiry first, and returns their `.delete` effects, which
    /// have already been applied. The shell calls it periodically (every 100 ms) on a
    /// primary and MUST log the effects like a command's. Costs O(log n) per key found;
    /// never looks at keys without an expiry. `random` is unused: the expiry queue finds
    /// expired keys exactly instead of sampling.
    public mutating func expireSample(
        nowMilliseconds: Int64,
        maximumKeys: Int,
        random: inout some RandomNumberGenerator
    ) -> [Effect] {
        var context = ExecutionContext(arguments: [], nowMilliseconds: nowMilliseconds)
        while context.effects.count < maximumKeys, let item = expiryQueue.minimum,
              item.expireAtMilliseconds < nowMilliseconds {
            expiryQueue.popMinimum()
            // Skip stale items: the key was deleted or its expiry changed since the push.
            guard entries.storedEntry(item.key)?.expireAtMilliseconds == item.expireAtMilliseconds else { continue }
            record(.delete(key: item.key), in: &context)
        }
        return context.effects
    }
}
