import Testing
@testable import UnderstudyCore

@Suite struct KeyspaceExpiryTests {
    @Test func expire_family_setsAbsoluteTimes() {
        var h = KeyspaceHarness()
        let now = h.nowMilliseconds
        h.run("SET", "k", "v")
        #expect(h.run("EXPIRE", "k", "100") == .integer(1))
        #expect(h.lastEffects == [.setExpiry(key: bytes("k"), expireAtMilliseconds: now + 100_000)])
        #expect(h.run("PEXPIRE", "k", "1500") == .integer(1))
        #expect(h.expiry("k") == now + 1500)
        #expect(h.run("EXPIREAT", "k", "1800000000") == .integer(1))
        #expect(h.expiry("k") == 1_800_000_000_000)
        #expect(h.run("PEXPIREAT", "k", "1800000000001") == .integer(1))
        #expect(h.expiry("k") == 1_800_000_000_001)
        #expect(h.run("EXPIRE", "missing", "100") == .integer(0))
        #expect(h.lastEffects.isEmpty)
    }

    @Test func expire_inThePast_deletesAndLogsDelete() {
        var h = KeyspaceHarness()
        for arguments in [["EXPIRE", "k", "0"], ["EXPIRE", "k", "-5"], ["PEXPIREAT", "k", "-9223372036854775808"],
                          ["EXPIREAT", "k", "1"]] {
            h.run("SET", "k", "v")
            #expect(h.run(arguments) == .integer(1), "\(arguments)")
            #expect(h.lastEffects == [.delete(key: bytes("k"))])
            #expect(h.run("EXISTS", "k") == .integer(0))
        }
        h.run("SET", "k", "v")
        h.run("PEXPIREAT", "k", String(h.nowMilliseconds))
        #expect(h.keyspace.count == 0)
    }

    @Test func expire_options_followRedis() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "v")
        #expect(h.run("EXPIRE", "k", "100", "XX") == .integer(0))
        #expect(h.run("EXPIRE", "k", "100", "GT") == .integer(0))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("EXPIRE", "k", "100", "LT") == .integer(1))
        #expect(h.run("EXPIRE", "k", "50", "GT") == .integer(0))
        #expect(h.run("EXPIRE", "k", "200", "gt") == .integer(1))
        #expect(h.run("EXPIRE", "k", "300", "LT") == .integer(0))
        #expect(h.run("EXPIRE", "k", "100", "XX", "LT") == .integer(1))
        #expect(h.run("EXPIRE", "k", "100", "NX") == .integer(0))
        #expect(h.expiry("k") == h.nowMilliseconds + 100_000)
        h.run("PERSIST", "k")
        #expect(h.run("EXPIRE", "k", "100", "nx", "nx") == .integer(1))
    }

    @Test func expire_errors_matchRedis() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "v")
        let incompatible = Reply.error("ERR NX and XX, GT or LT options at the same time are not compatible")
        #expect(h.run("EXPIRE", "k", "100", "NX", "XX") == incompatible)
        #expect(h.run("EXPIRE", "k", "100", "NX", "GT") == incompatible)
        #expect(h.run("EXPIRE", "k", "100", "LT", "NX") == incompatible)
        #expect(h.run("EXPIRE", "k", "100", "GT", "LT") == .error("ERR GT and LT options at the same time are not compatible"))
        #expect(h.run("EXPIRE", "k", "100", "Foo") == .error("ERR Unsupported option Foo"))
        #expect(h.run("EXPIRE", "k", "abc", "Foo") == .error("ERR Unsupported option Foo"))
        #expect(h.run("EXPIRE", "k", "abc") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("EXPIRE", "k", "9223372036854775807") == .error("ERR invalid expire time in 'expire' command"))
        #expect(h.run("EXPIRE", "k", "9223372036854770") == .error("ERR invalid expire time in 'expire' command"))
        #expect(h.run("EXPIRE", "k", "-9223372036854775808") == .error("ERR invalid expire time in 'expire' command"))
        #expect(h.run("PEXPIRE", "k", "9223372036854775807") == .error("ERR invalid expire time in 'pexpire' command"))
        #expect(h.run("EXPIREAT", "k", "9223372036854775807") == .error("ERR invalid expire time in 'expireat' command"))
        #expect(h.run("PEXPIREAT", "k", "9223372036854775807") == .integer(1))
        #expect(h.value("k") == "v")
    }

    @Test func ttl_pttl_expiretime() {
        var h = KeyspaceHarness()
        #expect(h.run("TTL", "k") == .integer(-2))
        #expect(h.run("PTTL", "k") == .integer(-2))
        #expect(h.run("EXPIRETIME", "k") == .integer(-2))
        h.run("SET", "k", "v")
        #expect(h.run("TTL", "k") == .integer(-1))
        #expect(h.run("PEXPIRETIME", "k") == .integer(-1))
        h.run("PEXPIRE", "k", "10499")
        #expect(h.run("TTL", "k") == .integer(10))
        #expect(h.run("PTTL", "k") == .integer(10499))
        h.run("PEXPIRE", "k", "10500")
        #expect(h.run("TTL", "k") == .integer(11))
        #expect(h.run("EXPIRETIME", "k") == .integer((h.nowMilliseconds + 10_500 + 500) / 1000))
        #expect(h.run("PEXPIRETIME", "k") == .integer(h.nowMilliseconds + 10_500))
        h.run("PEXPIREAT", "k", "9223372036854775807")
        #expect(h.run("TTL", "k") == .integer((Int64.max - h.nowMilliseconds + 500) / 1000))
        h.nowMilliseconds = 0
        #expect(h.run("TTL", "k") == .integer(Int64.max / 1000 + 1))
        #expect(h.run("EXPIRETIME", "k") == .integer(Int64.max / 1000 + 1))
    }

    @Test func persist_removesExpiry() {
        var h = KeyspaceHarness()
        #expect(h.run("PERSIST", "k") == .integer(0))
        h.run("SET", "k", "v", "EX", "10")
        #expect(h.run("PERSIST", "k") == .integer(1))
        #expect(h.lastEffects == [.setExpiry(key: bytes("k"), expireAtMilliseconds: nil)])
        #expect(h.run("PERSIST", "k") == .integer(0))
        #expect(h.lastEffects.isEmpty)
    }

    @Test func lazyExpiry_treatsKeyAsMissing_andLogsDelete() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "v", "PX", "100")
        h.nowMilliseconds += 100
        #expect(h.run("GET", "k") == .bulk("v"), "expires only once now > expireAt")
        h.nowMilliseconds += 1
        for command in [["GET", "k"], ["TTL", "k"], ["EXISTS", "k"], ["TYPE", "k"], ["STRLEN", "k"], ["INCR", "k"]] {
            h.keyspace.apply(.set(key: bytes("k"), value: bytes("1"), expireAtMilliseconds: h.nowMilliseconds - 1))
            h.run(command)
            #expect(h.lastEffects.first == .delete(key: bytes("k")), "\(command)")
        }
        #expect(h.value("k") == "1", "INCR recreated it")
    }

    @Test func keepTTL_onExpiredKey_startsFresh() {
        var h = KeyspaceHarness()
        h.keyspace.apply(.set(key: bytes("k"), value: bytes("old"), expireAtMilliseconds: h.nowMilliseconds - 1))
        #expect(h.run("SET", "k", "new", "KEEPTTL", "GET") == .nullBulk)
        #expect(h.lastEffects == [.delete(key: bytes("k")), .set(key: bytes("k"), value: bytes("new"), expireAtMilliseconds: nil)])
    }

    @Test func standby_reportsExpiredKeysMissing_withoutDeleting() {
        var h = KeyspaceHarness()
        h.keyspace.deletesExpiredKeys = false
        h.keyspace.apply(.set(key: bytes("k"), value: bytes("v"), expireAtMilliseconds: h.nowMilliseconds - 1))
        #expect(h.run("GET", "k") == .nullBulk)
        #expect(h.run("EXISTS", "k") == .integer(0))
        #expect(h.lastEffects.isEmpty)
        #expect(h.keyspace.count == 1)
    }

    @Test func expireSample_deletesExpiredKeys_upToLimit_earliestFirst() {
        var keyspace = Keyspace()
        var random = SeededGenerator(seed: 7)
        for index in 0..<100 {
            keyspace.apply(.set(key: bytes("k\(index)"), value: [], expireAtMilliseconds: Int64(1000 + index)))
            keyspace.apply(.set(key: bytes("p\(index)"), value: [], expireAtMilliseconds: nil))
        }
        #expect(keyspace.keysWithExpiryCount == 100)
        let first = keyspace.expireSample(nowMilliseconds: 1050, maximumKeys: 20, random: &random)
        #expect(first == (0..<20).map { .delete(key: bytes("k\($0)")) })
        let second = keyspace.expireSample(nowMilliseconds: 1050, maximumKeys: 1000, random: &random)
        #expect(second.count == 30, "1020...1049 have expired; 1050 has not (now > expireAt)")
        #expect(keyspace.keysWithExpiryCount == 50)
        #expect(keyspace.count == 150)
    }

    @Test func expireSample_skipsStaleQueueItems() {
        var keyspace = Keyspace()
        var random = SeededGenerator(seed: 7)
        keyspace.apply(.set(key: bytes("a"), value: [], expireAtMilliseconds: 10))
        keyspace.apply(.setExpiry(key: bytes("a"), expireAtMilliseconds: 5000))
        keyspace.apply(.set(key: bytes("b"), value: [], expireAtMilliseconds: 10))
        keyspace.apply(.delete(key: bytes("b")))
        keyspace.apply(.set(key: bytes("c"), value: [], expireAtMilliseconds: 10))
        keyspace.apply(.setExpiry(key: bytes("c"), expireAtMilliseconds: nil))
        #expect(keyspace.expireSample(nowMilliseconds: 100, maximumKeys: 10, random: &random).isEmpty)
        #expect(keyspace.expireSample(nowMilliseconds: 5001, maximumKeys: 10, random: &random) == [.delete(key: bytes("a"))])
        #expect(keyspace.keysWithExpiryCount == 0)
    }

    @Test func expiryQueue_staysBounded_underExpiryChurn() {
        var keyspace = Keyspace()
        for round in 0..<20_000 {
            keyspace.apply(.set(key: bytes("k\(round % 10)"), value: [], expireAtMilliseconds: Int64(1_000_000 + round)))
        }
        #expect(keyspace.keysWithExpiryCount == 10)
        #expect(keyspace.expiryQueue.count <= 2 * 10 + 1025)
        var random = SeededGenerator(seed: 1)
        #expect(keyspace.expireSample(nowMilliseconds: 2_000_000, maximumKeys: 100, random: &random).count == 10)
    }
}
