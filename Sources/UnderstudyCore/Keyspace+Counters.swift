/// INCR, INCRBY, DECR, DECRBY and INCRBYFLOAT. Each logs the value it produced as a
/// `.set` that keeps the key's expiry, never the increment.
extension Keyspace {
    mutating func incrementBy(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        guard let increment = RedisNumber.parseInt64(context.arguments[2]) else { throw .notAnInteger }
        return try incrementInteger(&context, by: increment)
    }

    mutating func decrementBy(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        guard let decrement = RedisNumber.parseInt64(context.arguments[2]) else { throw .notAnInteger }
        guard decrement != Int64.min else { throw CommandError("ERR decrement would overflow") }
        return try incrementInteger(&context, by: -decrement)
    }

    mutating func incrementInteger(_ context: inout ExecutionContext, by increment: Int64) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        var value: Int64 = 0
        let expireAt: Int64?
        do {
            // Scoped so the entry is let go before the write (which then needs no copy).
            let entry = try liveString(key, &context)
            expireAt = entry?.expireAtMilliseconds
            if let entry {
                guard let parsed = entry.withValue({ RedisNumber.parseInt64($0) }) else { throw .notAnInteger }
                value = parsed
            }
        }
        let (result, overflow) = value.addingReportingOverflow(increment)
        guard !overflow else { throw CommandError("ERR increment or decrement would overflow") }
        let bytes = RedisNumber.bytes(result)
        record(.set(key: key, value: bytes, expireAtMilliseconds: expireAt), in: &context)
        return .integer(result)
    }

    /// INCRBYFLOAT key increment, computed in C's `long double` and printed like Redis.
    mutating func incrementFloat(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        var value: LongDouble = 0
        let expireAt: Int64?
        do {
            let entry = try liveString(key, &context)
            expireAt = entry?.expireAtMilliseconds
            if let entry {
                guard let parsed = LongDoubleText.parse(entry.value) else { throw .notAFloat }
                value = parsed
            }
        }
        guard let increment = LongDoubleText.parse(context.arguments[2]) else { throw .notAFloat }
        let result = value + increment
        guard result.isFinite else { throw CommandError("ERR increment would produce NaN or Infinity") }
        let bytes = Array(LongDoubleText.format(result).utf8)
        record(.set(key: key, value: bytes, expireAtMilliseconds: expireAt), in: &context)
        return .bulk(bytes)
    }
}
