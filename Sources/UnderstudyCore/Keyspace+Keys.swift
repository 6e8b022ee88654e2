/// Commands on keys as a whole: DEL/UNLINK, EXISTS, TYPE, RENAME/RENAMENX, RANDOMKEY,
/// KEYS, SCAN, FLUSHALL/FLUSHDB.
extension Keyspace {
    mutating func delete(_ context: inout ExecutionContext) -> Reply {
        var deleted: Int64 = 0
        for key in context.arguments.dropFirst() where liveEntry(key, &context) != nil {
            record(.delete(key: key), in: &context)
            deleted += 1
        }
        return .integer(deleted)
    }

    /// EXISTS counts a key once per time it is named.
    mutating func exists(_ context: inout ExecutionContext) -> Reply {
        var found: Int64 = 0
        for key in context.arguments.dropFirst() where liveEntry(key, &context) != nil { found += 1 }
        return .integer(found)
    }

    mutating func type(_ context: inout ExecutionContext) -> Reply {
        .simple(liveEntry(context.arguments[1], &context) == nil ? "none" : "string")
    }

    /// RENAME / RENAMENX source target: the value and its expiry move; renaming a key to
    /// itself changes nothing.
    mutating func rename(_ context: inout ExecutionContext, onlyIfTargetMissing: Bool) throws(CommandError) -> Reply {
        let source = context.arguments[1]
        let target = context.arguments[2]
        guard liveEntry(source, &context) != nil else { throw .noSuchKey }
        if source == target { return onlyIfTargetMissing ? .integer(0) : .ok }
        if liveEntry(target, &context) != nil && onlyIfTargetMissing { return .integer(0) }
        record(.rename(from: source, to: target), in: &context)
        return onlyIfTargetMissing ? .integer(1) : .ok
    }

    /// RANDOMKEY: a uniformly random live key from `random`; expired keys it meets are
    /// deleted. If expired keys may not be deleted, gives up after 100 of them and returns
    /// one anyway, as a Redis replica does.
    mutating func randomKey(_ context: inout ExecutionContext, random: inout some RandomNumberGenerator) -> Reply {
        var expiredKeysSeen = 0
        while let key = entries.randomKey(using: &random) {
            if liveEntry(key, &context) != nil { return .bulk(key) }
            expiredKeysSeen += 1
            if !deletesExpiredKeys && expiredKeysSeen >= 100 { return .bulk(key) }
        }
        return .nullBulk
    }

    /// KEYS pattern: every live key matching the glob, in insertion order.
    mutating func keys(_ context: inout ExecutionContext) -> Reply {
        let pattern = context.arguments[1]
        let matchesAll = pattern == [UInt8(ascii: "*")]
        var found: [Reply] = []
        for key in entries.keys where matchesAll || GlobPattern.matches(pattern, key) {
            if liveEntry(key, &context) != nil { found.append(.bulk(key)) }
        }
        return .array(found)
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The cursor is a `KeyTable`
    /// sequence number: every key present for a whole iteration is returned exactly once.
    mutating func scan(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let arguments = context.arguments
        guard let cursor = RedisNumber.parseCursor(arguments[1]) else { throw CommandError("ERR invalid cursor") }
        var count = 10
        var pattern: [UInt8]?
        var typeName: [UInt8]?
        var index = 2
        while index < arguments.count {
            let hasValue = index + 1 < arguments.count
            if hasValue && Self.matchesWord(arguments[index], "count") {
                guard let value = RedisNumber.parseInt64(arguments[index + 1]) else { throw .notAnInteger }
                guard value >= 1 else { throw .syntax }
                count = Int(value)
            } else if hasValue && Self.matchesWord(arguments[index], "match") {
                pattern = arguments[index + 1] == [UInt8(ascii: "*")] ? nil : arguments[index + 1]
            } else if hasValue && Self.matchesWord(arguments[index], "type") {
                typeName = arguments[index + 1]
            } else {
                throw .syntax
            }
            index += 2
        }
        let batch = entries.scan(from: cursor, count: count)
        var found: [Reply] = []
        for key in batch.keys {
            if let pattern, !GlobPattern.matches(pattern, key) { continue }
            // Every value is a string today; this is where other types would be told apart.
            if let typeName, !Self.matchesWord(Array(RedisNumber.cString(typeName)), "string") { continue }
            if liveEntry(key, &context) != nil { found.append(.bulk(key)) }
        }
        return .array([.bulk(String(batch.nextCursor)), .array(found)])
    }

    /// FLUSHALL / FLUSHDB [ASYNC | SYNC]: both empty the one database.
    mutating func flush(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let arguments = context.arguments
        if arguments.count > 2 { throw .syntax }
        if arguments.count == 2 && !Self.matchesWord(arguments[1], "sync") && !Self.matchesWord(arguments[1], "async") {
            throw .syntax
        }
        record(.flushAll, in: &context)
        return .ok
    }
}
