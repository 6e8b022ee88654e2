/// Every command Understudy knows, with Redis 7's arity and its handler.
public enum CommandTable {
    /// All commands, in a stable order (COMMAND COUNT, COMMAND DOCS).
    public static let all: [CommandSpec] = keyspaceCommands + connectionCommands + serverCommands

    private static let keyspaceCommands: [CommandSpec] = [
        // Strings.
        keyspace("get", 2), keyspace("set", -3, write: true), keyspace("setnx", 3, write: true),
        keyspace("setex", 4, write: true), keyspace("psetex", 4, write: true),
        keyspace("getset", 3, write: true), keyspace("getex", -2, write: true),
        keyspace("getdel", 2, write: true), keyspace("mget", -2), keyspace("mset", -3, write: true),
        keyspace("msetnx", -3, write: true), keyspace("incr", 2, write: true),
        keyspace("incrby", 3, write: true), keyspace("incrbyfloat", 3, write: true),
        keyspace("decr", 2, write: true), keyspace("decrby", 3, write: true),
        keyspace("append", 3, write: true), keyspace("strlen", 2), keyspace("setrange", 4, write: true),
        keyspace("getrange", 4), keyspace("substr", 4),
        // Generic key space.
        keyspace("del", -2, write: true), keyspace("unlink", -2, write: true), keyspace("exists", -2),
        keyspace("type", 2), keyspace("rename", 3, write: true), keyspace("renamenx", 3, write: true),
        keyspace("randomkey", 1), keyspace("keys", 2), keyspace("scan", -2), keyspace("dbsize", 1),
        keyspace("flushall", -1, write: true), keyspace("flushdb", -1, write: true),
        // Expiry.
        keyspace("expire", -3, write: true), keyspace("pexpire", -3, write: true),
        keyspace("expireat", -3, write: true), keyspace("pexpireat", -3, write: true),
        keyspace("ttl", 2), keyspace("pttl", 2), keyspace("expiretime", 2), keyspace("pexpiretime", 2),
        keyspace("persist", 2, write: true),
        // Understudy's own: exactly-once writes (docs/protocol.md).
        keyspace("idempotent", -3, write: true),
    ]

    private static let connectionCommands: [CommandSpec] = [
        CommandSpec(name: "ping", arity: -1, handler: .connection, isWrite: false),
        CommandSpec(name: "echo", arity: 2, handler: .connection, isWrite: false),
        CommandSpec(name: "select", arity: 2, handler: .connection, isWrite: false),
        CommandSpec(name: "client", arity: -2, handler: .connection, isWrite: false),
        CommandSpec(name: "hello", arity: -1, handler: .connection, isWrite: false),
        CommandSpec(name: "auth", arity: -2, handler: .connection, isWrite: false),
        CommandSpec(name: "quit", arity: -1, handler: .connection, isWrite: false),
        CommandSpec(name: "reset", arity: 1, handler: .connection, isWrite: false),
    ]

    private static let serverCommands: [CommandSpec] = [
        CommandSpec(name: "info", arity: -1, handler: .server, isWrite: false),
        CommandSpec(name: "role", arity: 1, handler: .server, isWrite: false),
        // Operations: the node's recent events, and a drain (docs/operations.md).
        CommandSpec(name: "events", arity: -1, handler: .server, isWrite: false),
        CommandSpec(name: "drain", arity: 1, handler: .server, isWrite: false),
        // A standby's request to stream this node's log (docs/replication.md).
        CommandSpec(name: "replicate", arity: -7, handler: .connection, isWrite: false),
        CommandSpec(name: "wait", arity: 3, handler: .connection, isWrite: false),
        // Which durability the connection's last write has reached (docs/replication.md).
        CommandSpec(name: "durability", arity: 1, handler: .connection, isWrite: false),
        // Planned switchover on the primary, and forced promotion on a standby (docs/failover.md).
        CommandSpec(name: "failover", arity: -1, handler: .connection, isWrite: false),
        CommandSpec(name: "promote", arity: -2, handler: .connection, isWrite: false),
        // A primary tells its peer of its epoch (fencing without a witness; docs/failover.md).
        CommandSpec(name: "fence", arity: -4, handler: .server, isWrite: false),
        CommandSpec(name: "config", arity: -2, handler: .server, isWrite: false),
        CommandSpec(name: "command", arity: -1, handler: .server, isWrite: false),
        // The Prometheus exposition of the process's metrics (docs/operations.md "Metrics").
        CommandSpec(name: "metrics", arity: 1, handler: .server, isWrite: false),
    ]

    private static func keyspace(_ name: String, _ arity: Int, write: Bool = false) -> CommandSpec {
        CommandSpec(name: name, arity: arity, handler: .keyspace, isWrite: write)
    }

    /// Each name's position in `all`.
    private static let indexByName: [String: Int] = Dictionary(
        uniqueKeysWithValues: all.enumerated().map { ($0.element.name, $0.offset) }
    )

    /// The spec for a lower-case command name, or `nil` for an unknown command.
    public static func spec(named name: String) -> CommandSpec? {
        index(named: name).map { all[$0] }
    }

    /// The position in `all` of a lower-case command name, or `nil` for an unknown command:
    /// one lookup per request gives both the spec and anything kept per command in `all`'s
    /// order (the server's metric series).
    public static func index(named name: String) -> Int? {
        indexByName[name]
    }

    /// Redis's reply to a known command with the wrong number of arguments, e.g.
    /// `ERR wrong number of arguments for 'get' command`. `name` is the lower-case name.
    public static func wrongNumberOfArgumentsReply(for name: String) -> Reply {
        CommandError.wrongNumberOfArguments(name).reply
    }

    /// Redis 7's reply to an unknown command: the name as typed (at most 128 bytes), then
    /// each argument quoted and followed by a space, cut once the list reaches 128 bytes,
    /// e.g. `ERR unknown command 'foo', with args beginning with: 'a' 'b' `. As in Redis,
    /// text stops at a NUL and CR/LF become spaces.
    public static func unknownCommandReply(for command: Command) -> Reply {
        let limit = 128
        var arguments: [UInt8] = []
        for argument in command.arguments.dropFirst() where arguments.count < limit {
            let budget = limit - arguments.count
            arguments.append(UInt8(ascii: "'"))
            arguments += RedisNumber.cString(argument).prefix(budget)
            arguments += Array("' ".utf8)
        }
        var message = Array("ERR unknown command '".utf8)
        message += RedisNumber.cString(command.arguments[0]).prefix(limit)
        message += Array("', with args beginning with: ".utf8)
        message += arguments
        let sanitized = message.map { $0 == 13 || $0 == 10 ? UInt8(ascii: " ") : $0 }
        return .error(String(decoding: sanitized, as: UTF8.self))
    }
}
