import Testing
@testable import UnderstudyCore

@Suite struct KeyspaceTests {
    @Test func apply_maintainsKeysWithExpiryCount() {
        var keyspace = Keyspace()
        keyspace.apply(.set(key: bytes("a"), value: [], expireAtMilliseconds: 10))
        keyspace.apply(.set(key: bytes("b"), value: [], expireAtMilliseconds: nil))
        #expect(keyspace.keysWithExpiryCount == 1)
        keyspace.apply(.setExpiry(key: bytes("b"), expireAtMilliseconds: 20))
        keyspace.apply(.setExpiry(key: bytes("missing"), expireAtMilliseconds: 20))
        #expect(keyspace.keysWithExpiryCount == 2)
        keyspace.apply(.rename(from: bytes("a"), to: bytes("b")))
        #expect(keyspace.keysWithExpiryCount == 1)
        keyspace.apply(.set(key: bytes("b"), value: [], expireAtMilliseconds: nil))
        #expect(keyspace.keysWithExpiryCount == 0)
        keyspace.apply(.set(key: bytes("c"), value: [], expireAtMilliseconds: 5))
        keyspace.apply(.delete(key: bytes("c")))
        #expect(keyspace.keysWithExpiryCount == 0)
        keyspace.apply(.set(key: bytes("d"), value: [], expireAtMilliseconds: 5))
        keyspace.apply(.flushAll)
        #expect(keyspace.keysWithExpiryCount == 0)
        #expect(keyspace.count == 0)
    }

    @Test func init_withEntries_buildsIndexes() {
        var keyspace = Keyspace(entries: [bytes("a"): Entry(value: [], expireAtMilliseconds: 3), bytes("b"): Entry(value: [])])
        #expect(keyspace.keysWithExpiryCount == 1)
        #expect(keyspace.entries.count == 2 && keyspace.entries.keys.count == 2)
        var random = SeededGenerator(seed: 3)
        #expect(keyspace.expireSample(nowMilliseconds: 4, maximumKeys: 5, random: &random) == [.delete(key: bytes("a"))])
    }

    /// THE replication property: for a random command sequence, replaying the returned
    /// effects on a fresh keyspace yields the same entries, after every command.
    @Test(arguments: 1...8)
    func effects_replayToTheSameState(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var primary = Keyspace()
        var replica = Keyspace()
        var now: Int64 = 1_700_000_000_000
        for step in 0..<1500 {
            now += Int64.random(in: 0...400, using: &random)
            let command = Self.randomCommand(now: now, random: &random)
            let execution = primary.execute(command, nowMilliseconds: now, random: &random)
            replica.apply(execution.effects)
            if step % 97 == 0 {
                replica.apply(primary.expireSample(nowMilliseconds: now, maximumKeys: 5, random: &random))
            }
            guard primary.entries == replica.entries else {
                Issue.record("diverged at step \(step) after \(command.arguments.map { String(decoding: $0, as: UTF8.self) })")
                return
            }
        }
        #expect(primary.keysWithExpiryCount == replica.keysWithExpiryCount)
        #expect(primary.keysWithExpiryCount == primary.entries.filter { $0.entry.expireAtMilliseconds != nil }.count)
    }

    /// Commands that never change anything log nothing.
    @Test(arguments: 1...3)
    func readCommands_onLiveKeys_logNothing(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var h = KeyspaceHarness()
        for index in 0..<50 { h.run("SET", "k\(index)", String(index)) }
        for words in [["GET", "k1"], ["MGET", "k1", "zz"], ["EXISTS", "k2"], ["TTL", "k3"], ["PTTL", "k3"],
                      ["STRLEN", "k4"], ["GETRANGE", "k5", "0", "-1"], ["TYPE", "k6"], ["KEYS", "*"],
                      ["SCAN", "0"], ["DBSIZE"], ["RANDOMKEY"], ["EXPIRETIME", "k7"]] {
            _ = h.keyspace.execute(Command(arguments: words.map { Array($0.utf8) }), nowMilliseconds: h.nowMilliseconds,
                                   random: &random)
            #expect(h.keyspace.execute(Command(arguments: words.map { Array($0.utf8) }),
                                       nowMilliseconds: h.nowMilliseconds, random: &random).effects.isEmpty)
        }
    }

    static let commandShapes: [[String]] = [
        ["SET", "K", "V"], ["SET", "K", "V", "EX", "T"], ["SET", "K", "V", "PX", "T", "NX"], ["SET", "K", "V", "XX", "GET"],
        ["SET", "K", "V", "KEEPTTL"], ["SET", "K", "V", "PXAT", "A"], ["SETNX", "K", "V"], ["SETEX", "K", "T", "V"],
        ["PSETEX", "K", "T", "V"], ["GETSET", "K", "V"], ["GETEX", "K", "PX", "T"], ["GETEX", "K", "PERSIST"],
        ["GETEX", "K", "PXAT", "A"], ["GETDEL", "K"], ["GET", "K"], ["MGET", "K", "K"], ["MSET", "K", "V", "K", "V"],
        ["MSETNX", "K", "V", "K", "V"], ["INCR", "K"], ["INCRBY", "K", "N"], ["DECR", "K"], ["DECRBY", "K", "N"],
        ["INCRBYFLOAT", "K", "F"], ["APPEND", "K", "V"], ["SETRANGE", "K", "N", "V"], ["STRLEN", "K"], ["DEL", "K", "K"],
        ["UNLINK", "K"], ["EXISTS", "K", "K"], ["TYPE", "K"], ["RENAME", "K", "K"], ["RENAMENX", "K", "K"],
        ["RANDOMKEY"], ["KEYS", "k*"], ["SCAN", "0", "COUNT", "N"], ["EXPIRE", "K", "T"], ["PEXPIRE", "K", "T", "GT"],
        ["EXPIREAT", "K", "S"], ["PEXPIREAT", "K", "A", "LT"], ["EXPIRE", "K", "T", "NX"], ["TTL", "K"], ["PTTL", "K"],
        ["PERSIST", "K"], ["FLUSHALL"],
    ]

    static func randomCommand(now: Int64, random: inout SeededGenerator) -> Command {
        var shape = commandShapes[Int.random(in: 0..<commandShapes.count, using: &random)]
        if shape == ["FLUSHALL"] && Int.random(in: 0..<10, using: &random) != 0 { shape = ["GET", "K"] }
        let words = shape.enumerated().map { index, word -> String in
            guard index > 0 else { return word }
            switch word {
            case "K": return "k\(Int.random(in: 0..<12, using: &random))"
            case "V": return ["", "1", "abc", "12", "-3", "2.5"][Int.random(in: 0..<6, using: &random)]
            case "T": return String(Int.random(in: -2...3, using: &random))
            case "N": return String(Int.random(in: -3...5, using: &random))
            case "F": return ["1.5", "-0.1", "3e2", "x"][Int.random(in: 0..<4, using: &random)]
            case "A": return String(now + Int64.random(in: -1000...2000, using: &random))
            case "S": return String(now / 1000 + Int64.random(in: -2...3, using: &random))
            default: return word
            }
        }
        return Command(arguments: words.map { Array($0.utf8) })
    }
}

@Suite struct KeyspaceAppendEffectTests {
    @Test func append_logsOnlyTheSuffix_andReplaysToTheSameValue() {
        var keyspace = Keyspace()
        var random = SystemRandomNumberGenerator()
        var replayed = Keyspace()
        for command in [Command("SET", "log", "a"), Command("PEXPIRE", "log", "100000"),
                        Command("APPEND", "log", "bc"), Command("APPEND", "new", "x"),
                        Command("SETRANGE", "log", "5", "Z"), Command("SETRANGE", "fresh", "2", "q")] {
            let execution = keyspace.execute(command, nowMilliseconds: 1_000, random: &random)
            replayed.apply(execution.effects)
        }
        #expect(keyspace.entries == replayed.entries)
        #expect(keyspace.entries[Array("log".utf8)]?.value == Array("abc".utf8) + [0, 0] + Array("Z".utf8))
        #expect(keyspace.entries[Array("log".utf8)]?.expireAtMilliseconds == 101_000)
        #expect(keyspace.entries[Array("fresh".utf8)]?.value == [0, 0] + Array("q".utf8))

        let append = keyspace.execute(Command("APPEND", "log", "tail"), nowMilliseconds: 1_000, random: &random)
        #expect(append.effects == [.append(key: Array("log".utf8), suffix: Array("tail".utf8))])
        #expect(append.reply == .integer(10))
    }
}
