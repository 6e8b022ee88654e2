extension Keyspace {
    /// Executes one keyspace command at `nowMilliseconds` (Unix time).
    ///
    /// The command's arity MUST already have been checked against `CommandTable`. Every
    /// change is made through `apply` at the moment it is recorded, so the returned effects
    /// have already been applied to `self`, and applying them in order to a copy of the
    /// keyspace as it was before yields exactly the state after. They include `.delete`s of
    /// expired keys the command met (unless `deletesExpiredKeys` is off), absolute expiry
    /// times, and nothing for a conditional write that changed nothing.
    ///
    /// `random` is used by RANDOMKEY only.
    public mutating func execute(
        _ command: Command,
        nowMilliseconds: Int64,
        random: inout some RandomNumberGenerator
    ) -> Execution {
        var context = ExecutionContext(arguments: command.arguments, nowMilliseconds: nowMilliseconds)
        let reply: Reply
        do {
            reply = try dispatch(command.name, &context, random: &random)
        } catch {
            reply = error.reply
        }
        return Execution(reply: reply, effects: context.effects)
    }

    mutating func dispatch(
        _ name: String,
        _ context: inout ExecutionContext,
        random: inout some RandomNumberGenerator
    ) throws(CommandError) -> Reply {
        switch name {
        case "get": return try get(&context)
        case "set": return try set(&context)
        case "setnx": return try setIfMissing(&context)
        case "setex": return try setWithExpiry(&context, unit: .seconds)
        case "psetex": return try setWithExpiry(&context, unit: .milliseconds)
        case "getset": return try getSet(&context)
        case "getex": return try getWithExpiry(&context)
        case "getdel": return try getDelete(&context)
        case "mget": return multipleGet(&context)
        case "mset": return try multipleSet(&context, onlyIfAllMissing: false)
        case "msetnx": return try multipleSet(&context, onlyIfAllMissing: true)
        case "append": return try append(&context)
        case "strlen": return try stringLength(&context)
        case "setrange": return try setRange(&context)
        case "getrange", "substr": return try getRange(&context)
        case "incr": return try incrementInteger(&context, by: 1)
        case "decr": return try incrementInteger(&context, by: -1)
        case "incrby": return try incrementBy(&context)
        case "decrby": return try decrementBy(&context)
        case "incrbyfloat": return try incrementFloat(&context)
        default: return try dispatchKeyCommand(name, &context, random: &random)
        }
    }

    private mutating func dispatchKeyCommand(
        _ name: String,
        _ context: inout ExecutionContext,
        random: inout some RandomNumberGenerator
    ) throws(CommandError) -> Reply {
        switch name {
        case "del", "unlink": return delete(&context)
        case "exists": return exists(&context)
        case "type": return type(&context)
        case "rename": return try rename(&context, onlyIfTargetMissing: false)
        case "renamenx": return try rename(&context, onlyIfTargetMissing: true)
        case "randomkey": return randomKey(&context, random: &random)
        case "keys": return keys(&context)
        case "scan": return try scan(&context)
        case "dbsize": return .integer(Int64(count))
        case "flushall", "flushdb": return try flush(&context)
        case "expire": return try expire(&context, unit: .seconds, relative: true)
        case "pexpire": return try expire(&context, unit: .milliseconds, relative: true)
        case "expireat": return try expire(&context, unit: .seconds, relative: false)
        case "pexpireat": return try expire(&context, unit: .milliseconds, relative: false)
        case "ttl": return timeToLive(&context, unit: .seconds)
        case "pttl": return timeToLive(&context, unit: .milliseconds)
        case "expiretime": return expireTime(&context, unit: .seconds)
        case "pexpiretime": return expireTime(&context, unit: .milliseconds)
        case "persist": return persist(&context)
        case "idempotent": return try idempotent(&context, random: &random)
        default:
            // The shell routes only `.keyspace` commands here: anything else is a bug.
            fatalError("Internal inconsistency: '\(name)' is not a keyspace command")
        }
    }
}

/// The state of one command while it executes: its arguments, the time, and the effects
/// recorded (and already applied) so far.
struct ExecutionContext {
    let arguments: [[UInt8]]
    let nowMilliseconds: Int64
    var effects: [Effect] = []

    init(arguments: [[UInt8]], nowMilliseconds: Int64) {
        self.arguments = arguments
        self.nowMilliseconds = nowMilliseconds
    }
}

/// The unit of an expiry argument.
enum ExpiryUnit {
    case seconds
    case milliseconds
}

extension Keyspace {
    /// Records an effect: applies it now and appends it to the command's effects.
    mutating func record(_ effect: Effect, in context: inout ExecutionContext) {
        apply(effect)
        context.effects.append(effect)
    }

    /// The entry of `key` if it exists and has not expired. An expired key is reported
    /// missing and, when `deletesExpiredKeys` is on, deleted with a recorded `.delete`
    /// (Redis propagates a DEL for a key it expires lazily).
    ///
    /// The entry returned is the stored one, not a copy: read it, and let go of it before
    /// changing the key, or the change has to copy it.
    mutating func liveEntry(_ key: [UInt8], _ context: inout ExecutionContext) -> StoredEntry? {
        guard let entry = entries.storedEntry(key) else { return nil }
        guard entry.isExpired(atMilliseconds: context.nowMilliseconds) else { return entry }
        if deletesExpiredKeys { record(.delete(key: key), in: &context) }
        return nil
    }

    /// The live entry of `key` for a command that works on strings. This is the single
    /// place where a type check (WRONGTYPE) goes once values other than strings exist;
    /// today every value is a string.
    mutating func liveString(_ key: [UInt8], _ context: inout ExecutionContext) throws(CommandError) -> StoredEntry? {
        liveEntry(key, &context)
    }

    /// Whether `bytes` equals the ASCII word `lowercaseWord` ignoring case.
    static func matchesWord(_ bytes: [UInt8], _ lowercaseWord: StaticString) -> Bool {
        let word = lowercaseWord.withUTF8Buffer { Array($0) }
        guard bytes.count == word.count else { return false }
        for (byte, expected) in zip(bytes, word) {
            let folded = (byte >= 65 && byte <= 90) ? byte + 32 : byte
            if folded != expected { return false }
        }
        return true
    }
}
