import Testing
@testable import UnderstudyCore

@Suite struct CommandTableTests {
    /// Arity of every command as Redis 7.0.15's COMMAND INFO reports it.
    static let redisArity: [String: Int] = [
        "get": 2, "set": -3, "setnx": 3, "setex": 4, "psetex": 4, "getset": 3, "getex": -2, "getdel": 2,
        "mget": -2, "mset": -3, "msetnx": -3, "incr": 2, "incrby": 3, "incrbyfloat": 3, "decr": 2, "decrby": 3,
        "append": 3, "strlen": 2, "setrange": 4, "getrange": 4, "substr": 4, "del": -2, "unlink": -2,
        "exists": -2, "type": 2, "rename": 3, "renamenx": 3, "randomkey": 1, "keys": 2, "scan": -2, "dbsize": 1,
        "flushall": -1, "flushdb": -1, "expire": -3, "pexpire": -3, "expireat": -3, "pexpireat": -3, "ttl": 2,
        "pttl": 2, "expiretime": 2, "pexpiretime": 2, "persist": 2, "ping": -1, "echo": 2, "select": 2,
        "client": -2, "hello": -1, "auth": -2, "quit": -1, "reset": 1, "info": -1, "config": -2, "command": -1, "role": 1,
        "wait": 3, "durability": 1,  // DURABILITY is Understudy's own
        "replicate": -7,  // Understudy's own: a standby's handshake (not in Redis); the cluster identity is optional
        "failover": -1,  // Redis's FAILOVER arity; it answers when the switchover is over
        "promote": -2, "fence": -4, "idempotent": -3,  // Understudy's own: forced promotion, fencing through the peer
        "metrics": 1,  // Understudy's own: the Prometheus exposition
        "events": -1, "drain": 1,  // Understudy's own: the node's recent events, a drain (docs/operations.md)
    ]

    @Test func everyCommand_hasRedisArity() {
        #expect(CommandTable.all.count == Self.redisArity.count)
        for (name, arity) in Self.redisArity {
            #expect(CommandTable.spec(named: name)?.arity == arity, "\(name)")
        }
        #expect(CommandTable.spec(named: "foo") == nil)
    }

    @Test func handlers_areAssignedByRoom() {
        for name in ["ping", "echo", "select", "client", "hello", "auth", "quit", "reset", "replicate", "wait", "durability",
                     "failover", "promote"] {
            #expect(CommandTable.spec(named: name)?.handler == .connection, "\(name)")
        }
        for name in ["info", "config", "command", "role", "fence", "metrics", "events", "drain"] {
            #expect(CommandTable.spec(named: name)?.handler == .server, "\(name)")
        }
        let keyspaceCount = CommandTable.all.filter { $0.handler == .keyspace }.count
        #expect(keyspaceCount == Self.redisArity.count - 21)
        #expect(CommandTable.spec(named: "set")?.isWrite == true)
        #expect(CommandTable.spec(named: "get")?.isWrite == false)
        #expect(CommandTable.spec(named: "flushall")?.isWrite == true)
    }

    /// Every `.keyspace` command reaches a handler (none hits the "not a keyspace command" trap).
    @Test func everyKeyspaceCommand_isExecutable() {
        var keyspace = Keyspace()
        var random = SeededGenerator(seed: 1)
        for spec in CommandTable.all where spec.handler == .keyspace {
            let count = max(abs(spec.arity), 1)
            var arguments = [Array(spec.name.utf8)]
            arguments += (1..<count).map { _ in bytes("1") }
            _ = keyspace.execute(Command(arguments: arguments), nowMilliseconds: 1000, random: &random)
        }
    }

    @Test func wrongNumberOfArguments_matchesRedis() {
        #expect(CommandTable.wrongNumberOfArgumentsReply(for: "get") == .error("ERR wrong number of arguments for 'get' command"))
    }

    @Test func unknownCommand_quotesArgumentsLikeRedis() {
        #expect(CommandTable.unknownCommandReply(for: Command("foo", "a", "b", "c", "d"))
            == .error("ERR unknown command 'foo', with args beginning with: 'a' 'b' 'c' 'd' "))
        #expect(CommandTable.unknownCommandReply(for: Command("FOO"))
            == .error("ERR unknown command 'FOO', with args beginning with: "))
        #expect(CommandTable.unknownCommandReply(for: Command("foo", ""))
            == .error("ERR unknown command 'foo', with args beginning with: '' "))
    }

    @Test func unknownCommand_truncatesAt128BytesLikeRedis() {
        let first = String(repeating: "a", count: 100)
        let second = String(repeating: "b", count: 50)
        #expect(CommandTable.unknownCommandReply(for: Command("foo", first, second, "c"))
            == .error("ERR unknown command 'foo', with args beginning with: '\(first)' '\(String(repeating: "b", count: 25))' "))
        let many = Array(repeating: "x", count: 70)
        let expected = "ERR unknown command 'foo', with args beginning with: " + String(repeating: "'x' ", count: 32)
        #expect(CommandTable.unknownCommandReply(for: Command(arguments: [bytes("foo")] + many.map(bytes))) == .error(expected))
        let longName = String(repeating: "F", count: 130)
        #expect(CommandTable.unknownCommandReply(for: Command(longName))
            == .error("ERR unknown command '\(String(repeating: "F", count: 128))', with args beginning with: "))
        #expect(CommandTable.unknownCommandReply(for: Command("foo", "a\r\nb"))
            == .error("ERR unknown command 'foo', with args beginning with: 'a  b' "))
    }
}
