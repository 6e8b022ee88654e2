import Testing
@testable import UnderstudyClient

@Suite struct CommandTraitsTests {
    private func traits(_ words: String...) -> CommandTraits { CommandTraits(arguments: words.map { Array($0.utf8) }) }

    @Test func writesThatAreNotNaturallyIdempotent_needAKey() {
        for name in ["INCR", "incrby", "DECR", "DECRBY", "INCRBYFLOAT", "APPEND", "SETRANGE", "MSETNX", "DEL", "GETDEL", "GETSET", "SETNX"] {
            #expect(traits(name, "k", "1").needsIdempotencyKey, "\(name)")
        }
        #expect(traits("SET", "k", "v", "NX").needsIdempotencyKey)
        #expect(traits("SET", "k", "v", "EX", "5", "get").needsIdempotencyKey)
        #expect(traits("EXPIRE", "k", "5", "GT").needsIdempotencyKey)
        #expect(traits("PEXPIREAT", "k", "5", "nx").needsIdempotencyKey)
    }

    @Test func naturallyIdempotentWrites_andReads_needNoKey() {
        #expect(!traits("SET", "k", "v").needsIdempotencyKey)
        #expect(!traits("SET", "k", "NX").needsIdempotencyKey, "NX here is the value")
        #expect(!traits("MSET", "a", "1").needsIdempotencyKey)
        #expect(!traits("EXPIRE", "k", "5").needsIdempotencyKey)
        #expect(!traits("GET", "k").needsIdempotencyKey)
    }

    @Test func readsAreRetrySafe_unknownAndAdminCommandsAreNot() {
        #expect(traits("GET", "k").isRead && traits("MGET", "a").isRead && traits("TTL", "k").isRead && traits("PING").isRead)
        #expect(!traits("SET", "k", "v").isRead)
        #expect(!traits("FAILOVER").isRead)
        #expect(!traits("NOSUCHCOMMAND", "x").isRead)
    }

    @Test func aRawIdempotentCommand_carriesItsKey() {
        let wrapped = traits("IDEMPOTENT", "abc", "INCR", "k")
        #expect(wrapped.carriedIdempotencyKey == "abc" && !wrapped.isRead && !wrapped.needsIdempotencyKey)
        #expect(CommandTraits.wrap([Array("INCR".utf8)], idempotencyKey: "k1").map { String(decoding: $0, as: UTF8.self) } == ["IDEMPOTENT", "k1", "INCR"])
    }
}
