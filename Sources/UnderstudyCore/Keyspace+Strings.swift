/// String commands: GET, SET and its variants, MGET/MSET, APPEND, STRLEN, SETRANGE, GETRANGE.
extension Keyspace {
    /// Redis's `proto-max-bulk-len` default: the largest string a command may build.
    static let maximumStringBytes = 512 * 1024 * 1024

    mutating func get(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        .bulk(of: try liveString(context.arguments[1], &context))
    }

    mutating func set(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let options = try StringSetOptions(context.arguments, from: 3, command: .set)
        let expireAt = try options.expireAtMilliseconds(nowMilliseconds: context.nowMilliseconds, commandName: "set")
        return try setString(&context, flags: options.flags, expireAtMilliseconds: expireAt)
    }

    /// Redis's `setGenericCommand`, after the options are parsed and the expiry computed.
    private mutating func setString(
        _ context: inout ExecutionContext,
        flags: StringSetOptions.Flags,
        expireAtMilliseconds: Int64?
    ) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let reply: Reply
        let existed: Bool
        let existingExpiry: Int64?
        do {
            // Scoped so the entry is let go before the write (which then needs no copy).
            let existing = flags.contains(.get) ? try liveString(key, &context) : liveEntry(key, &context)
            reply = flags.contains(.get) ? .bulk(existing?.value) : .ok
            existed = existing != nil
            existingExpiry = existing?.expireAtMilliseconds
        }
        if flags.contains(.onlyIfMissing) && existed || flags.contains(.onlyIfPresent) && !existed {
            return flags.contains(.get) ? reply : .nullBulk
        }
        let expiry = flags.contains(.keepTimeToLive) ? existingExpiry : expireAtMilliseconds
        if let expiry, expiry < context.nowMilliseconds {
            // EXAT/PXAT in the past: the key is gone at once (Redis stores it expired).
            if existed { record(.delete(key: key), in: &context) }
        } else {
            record(.set(key: key, value: context.arguments[2], expireAtMilliseconds: expiry), in: &context)
        }
        return reply
    }

    mutating func setIfMissing(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let reply = try setString(&context, flags: .onlyIfMissing, expireAtMilliseconds: nil)
        return .integer(reply == .ok ? 1 : 0)
    }

    /// SETEX key seconds value / PSETEX key milliseconds value.
    mutating func setWithExpiry(_ context: inout ExecutionContext, unit: ExpiryUnit) throws(CommandError) -> Reply {
        let arguments = context.arguments
        let expireAt = try StringSetOptions.expireAtMilliseconds(
            arguments[2], unit: unit, relative: true, nowMilliseconds: context.nowMilliseconds,
            commandName: unit == .seconds ? "setex" : "psetex"
        )
        _ = liveEntry(arguments[1], &context)
        record(.set(key: arguments[1], value: arguments[3], expireAtMilliseconds: expireAt), in: &context)
        return .ok
    }

    mutating func getSet(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let existing = try liveString(key, &context)
        record(.set(key: key, value: context.arguments[2], expireAtMilliseconds: nil), in: &context)
        return .bulk(existing?.value)
    }

    /// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST].
    mutating func getWithExpiry(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let options = try StringSetOptions(context.arguments, from: 2, command: .getex)
        guard let entry = try liveString(key, &context) else { return .nullBulk }
        let value = entry.value
        let currentExpiry = entry.expireAtMilliseconds
        let now = context.nowMilliseconds
        let expireAt = try options.expireAtMilliseconds(nowMilliseconds: now, commandName: "getex")
        if let expireAt, options.hasAbsoluteExpiry && expireAt <= now {
            record(.delete(key: key), in: &context)
        } else if let expireAt, currentExpiry != expireAt {
            record(.setExpiry(key: key, expireAtMilliseconds: expireAt), in: &context)
        } else if options.flags.contains(.persist) && currentExpiry != nil {
            record(.setExpiry(key: key, expireAtMilliseconds: nil), in: &context)
        }
        return .bulk(value)
    }

    mutating func getDelete(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        guard let entry = try liveString(key, &context) else { return .nullBulk }
        record(.delete(key: key), in: &context)
        return .bulk(entry.value)
    }

    /// MGET never fails: a missing key (or, later, one of another type) is a null.
    mutating func multipleGet(_ context: inout ExecutionContext) -> Reply {
        let keys = context.arguments.dropFirst()
        return .array(keys.map { key in .bulk(of: liveEntry(key, &context)) })
    }

    /// MSET / MSETNX key value [key value ...].
    mutating func multipleSet(_ context: inout ExecutionContext, onlyIfAllMissing: Bool) throws(CommandError) -> Reply {
        let arguments = context.arguments
        guard arguments.count % 2 == 1 else {
            throw .wrongNumberOfArguments(onlyIfAllMissing ? "msetnx" : "mset")
        }
        let pairs = stride(from: 1, to: arguments.count, by: 2).map { (key: arguments[$0], value: arguments[$0 + 1]) }
        if onlyIfAllMissing {
            for pair in pairs where liveEntry(pair.key, &context) != nil { return .integer(0) }
        }
        for pair in pairs {
            record(.set(key: pair.key, value: pair.value, expireAtMilliseconds: nil), in: &context)
        }
        return onlyIfAllMissing ? .integer(1) : .ok
    }

    mutating func append(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let suffix = context.arguments[2]
        guard let length = try liveString(key, &context)?.valueCount else {
            record(.set(key: key, value: suffix, expireAtMilliseconds: nil), in: &context)
            return .integer(Int64(suffix.count))
        }
        try Self.checkStringLength(length, plus: suffix.count)
        guard !suffix.isEmpty else { return .integer(Int64(length)) }
        record(.append(key: key, suffix: suffix), in: &context)
        return .integer(Int64(length + suffix.count))
    }

    mutating func stringLength(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        .integer(Int64(try liveString(context.arguments[1], &context)?.valueCount ?? 0))
    }

    /// SETRANGE key offset value: pads with zero bytes, keeps the expiry.
    mutating func setRange(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let patch = context.arguments[3]
        guard let offset = RedisNumber.parseInt64(context.arguments[2]) else { throw .notAnInteger }
        guard offset >= 0 else { throw CommandError("ERR offset is out of range") }
        let length = try liveString(key, &context)?.valueCount ?? 0
        guard !patch.isEmpty else { return .integer(Int64(length)) }
        guard offset <= Int64(Self.maximumStringBytes) else { throw .stringTooLong }
        try Self.checkStringLength(Int(offset), plus: patch.count)
        record(.setRange(key: key, offset: Int(offset), bytes: patch), in: &context)
        return .integer(Int64(max(length, Int(offset) + patch.count)))
    }

    /// GETRANGE key start end (and its old name SUBSTR), Redis's index rules included.
    mutating func getRange(_ context: inout ExecutionContext) throws(CommandError) -> Reply {
        guard var start = RedisNumber.parseInt64(context.arguments[2]),
              var end = RedisNumber.parseInt64(context.arguments[3]) else { throw .notAnInteger }
        guard let entry = try liveString(context.arguments[1], &context) else { return .bulk([]) }
        let length = Int64(entry.valueCount)
        if start < 0 && end < 0 && start > end { return .bulk([]) }
        if start < 0 { start = length &+ start }
        if end < 0 { end = length &+ end }
        start = max(start, 0)
        end = max(end, 0)
        if end >= length { end = length - 1 }
        guard start <= end && length > 0 else { return .bulk([]) }
        return .bulk(entry.withValue { Array($0[Int(start)...Int(end)]) })
    }

    /// Redis's `checkStringLength`: a string built by a command may not exceed 512 MB.
    static func checkStringLength(_ size: Int, plus appended: Int) throws(CommandError) {
        guard size + appended <= maximumStringBytes else { throw .stringTooLong }
    }
}
