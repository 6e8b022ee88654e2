import Testing
@testable import UnderstudyCore

@Suite struct KeyspaceStringsTests {
    let syntaxError = Reply.error("ERR syntax error")
    let notInteger = Reply.error("ERR value is not an integer or out of range")

    @Test func get_set_roundTrip() {
        var h = KeyspaceHarness()
        #expect(h.run("GET", "k") == .nullBulk)
        #expect(h.run("SET", "k", "v") == .ok)
        #expect(h.lastEffects == [.set(key: bytes("k"), value: bytes("v"), expireAtMilliseconds: nil)])
        #expect(h.run("get", "k") == .bulk("v"))
        #expect(h.lastEffects.isEmpty)
    }

    @Test func set_expiryOptions_logAbsoluteTimes() {
        var h = KeyspaceHarness()
        let now = h.nowMilliseconds
        h.run("SET", "a", "v", "EX", "10")
        #expect(h.lastEffects == [.set(key: bytes("a"), value: bytes("v"), expireAtMilliseconds: now + 10_000)])
        h.run("SET", "b", "v", "px", "1500")
        #expect(h.expiry("b") == now + 1500)
        h.run("SET", "c", "v", "EXAT", "1800000000")
        #expect(h.expiry("c") == 1_800_000_000_000)
        h.run("SET", "d", "v", "PXAT", "1800000000123")
        #expect(h.expiry("d") == 1_800_000_000_123)
        h.run("SET", "a", "w")
        #expect(h.expiry("a") == nil)
        h.run("SET", "b", "w", "KEEPTTL")
        #expect(h.lastEffects == [.set(key: bytes("b"), value: bytes("w"), expireAtMilliseconds: now + 1500)])
        h.run("SET", "e", "v", "EX", "10", "EX", "20")
        #expect(h.expiry("e") == now + 20_000)
    }

    @Test func set_invalidExpireTimes_matchRedis() {
        var h = KeyspaceHarness()
        let invalid = Reply.error("ERR invalid expire time in 'set' command")
        for arguments in [["EX", "0"], ["EX", "-1"], ["PX", "0"], ["EX", "9223372036854775807"], ["EX", "9223372036854775"],
                          ["PX", "9223372036854775807"], ["EXAT", "0"], ["PXAT", "-5"]] {
            #expect(h.run(["SET", "k", "v"] + arguments) == invalid, "\(arguments)")
        }
        #expect(h.run("SET", "k", "v", "EX", "abc") == notInteger)
        #expect(h.run("SET", "k", "v", "EXAT", "9223372036854775") == .ok)
        #expect(h.run("SET", "k", "v", "PXAT", "9223372036854775807") == .ok)
        #expect(h.expiry("k") == Int64.max)
    }

    @Test func set_conflictingOptions_areSyntaxErrors() {
        var h = KeyspaceHarness()
        for options in [["NX", "XX"], ["EX", "10", "PX", "10"], ["EX", "10", "KEEPTTL"], ["KEEPTTL", "PXAT", "5"],
                        ["EX"], ["FOO"], ["PERSIST"], ["EXAT", "1", "EX", "1"]] {
            #expect(h.run(["SET", "k", "v"] + options) == syntaxError, "\(options)")
        }
        #expect(h.keyspace.count == 0)
    }

    @Test func set_conditions_andGet() {
        var h = KeyspaceHarness()
        #expect(h.run("SET", "k", "v", "XX") == .nullBulk)
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("SET", "k", "v", "GET") == .nullBulk)
        #expect(h.run("SET", "k", "v2", "GET", "NX") == .bulk("v"))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("SET", "k", "v3", "NX") == .nullBulk)
        #expect(h.run("SET", "k", "v4", "XX", "GET") == .bulk("v"))
        #expect(h.value("k") == "v4")
        #expect(h.run("SET", "k", "v5", "nx", "nx") == .nullBulk)
    }

    @Test func set_absoluteTimeInThePast_deletesTheKey() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "v")
        #expect(h.run("SET", "k", "v2", "EXAT", "1", "GET") == .bulk("v"))
        #expect(h.lastEffects == [.delete(key: bytes("k"))])
        #expect(h.run("GET", "k") == .nullBulk)
        #expect(h.run("SET", "missing", "v", "PXAT", "1") == .ok)
        #expect(h.lastEffects.isEmpty)
    }

    @Test func setnx_setex_psetex() {
        var h = KeyspaceHarness()
        #expect(h.run("SETNX", "k", "v") == .integer(1))
        #expect(h.run("SETNX", "k", "w") == .integer(0))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("SETEX", "k", "10", "x") == .ok)
        #expect(h.expiry("k") == h.nowMilliseconds + 10_000)
        #expect(h.run("PSETEX", "k", "10", "x") == .ok)
        #expect(h.expiry("k") == h.nowMilliseconds + 10)
        #expect(h.run("SETEX", "k", "0", "x") == .error("ERR invalid expire time in 'setex' command"))
        #expect(h.run("PSETEX", "k", "-1", "x") == .error("ERR invalid expire time in 'psetex' command"))
        #expect(h.run("SETEX", "k", "abc", "x") == notInteger)
    }

    @Test func getset_getdel_dropExpiry() {
        var h = KeyspaceHarness()
        #expect(h.run("GETSET", "k", "a") == .nullBulk)
        h.run("EXPIRE", "k", "100")
        #expect(h.run("GETSET", "k", "b") == .bulk("a"))
        #expect(h.expiry("k") == nil)
        #expect(h.run("GETDEL", "k") == .bulk("b"))
        #expect(h.lastEffects == [.delete(key: bytes("k"))])
        #expect(h.run("GETDEL", "k") == .nullBulk)
        #expect(h.lastEffects.isEmpty)
    }

    @Test func getex_changesExpiry() {
        var h = KeyspaceHarness()
        let now = h.nowMilliseconds
        h.run("SET", "k", "v")
        #expect(h.run("GETEX", "k") == .bulk("v"))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("GETEX", "k", "EX", "10", "EX", "20") == .bulk("v"))
        #expect(h.lastEffects == [.setExpiry(key: bytes("k"), expireAtMilliseconds: now + 20_000)])
        #expect(h.run("GETEX", "k", "PXAT", "1800000000000") == .bulk("v"))
        #expect(h.expiry("k") == 1_800_000_000_000)
        #expect(h.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(h.lastEffects == [.setExpiry(key: bytes("k"), expireAtMilliseconds: nil)])
        #expect(h.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("GETEX", "k", "EXAT", "1") == .bulk("v"))
        #expect(h.lastEffects == [.delete(key: bytes("k"))])
        #expect(h.keyspace.count == 0)
    }

    @Test func getex_errors_matchRedis() {
        var h = KeyspaceHarness()
        h.run("SET", "a", "1")
        #expect(h.run("GETEX", "a", "EX", "0") == .error("ERR invalid expire time in 'getex' command"))
        #expect(h.run("GETEX", "missing", "EX", "0") == .nullBulk)
        #expect(h.run("GETEX", "a", "FOO") == syntaxError)
        #expect(h.run("GETEX", "missing", "FOO") == syntaxError)
        #expect(h.run("GETEX", "a", "PERSIST", "EX", "10") == syntaxError)
        #expect(h.run("GETEX", "a", "KEEPTTL") == syntaxError)
        #expect(h.run("GETEX", "a", "NX") == syntaxError)
        #expect(h.run("GETEX", "a", "GET") == syntaxError)
    }

    @Test func mget_mset_msetnx() {
        var h = KeyspaceHarness()
        #expect(h.run("MSET", "a", "1", "b", "2", "a", "3") == .ok)
        #expect(h.run("MGET", "a", "b", "c") == .array([.bulk("3"), .bulk("2"), .nullBulk]))
        #expect(h.run("MSET", "a", "1", "b") == .error("ERR wrong number of arguments for 'mset' command"))
        #expect(h.run("MSETNX", "a", "1", "b") == .error("ERR wrong number of arguments for 'msetnx' command"))
        #expect(h.run("MSETNX", "c", "1", "a", "2") == .integer(0))
        #expect(h.lastEffects.isEmpty)
        #expect(h.value("c") == nil)
        #expect(h.run("MSETNX", "c", "1", "d", "2") == .integer(1))
        #expect(h.value("d") == "2")
    }

    @Test func append_strlen_keepExpiry() {
        var h = KeyspaceHarness()
        #expect(h.run("APPEND", "k", "hello") == .integer(5))
        h.run("EXPIRE", "k", "100")
        #expect(h.run("APPEND", "k", " world") == .integer(11))
        #expect(h.value("k") == "hello world")
        #expect(h.expiry("k") == h.nowMilliseconds + 100_000)
        #expect(h.run("APPEND", "k", "") == .integer(11))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("STRLEN", "k") == .integer(11))
        #expect(h.run("STRLEN", "missing") == .integer(0))
    }

    @Test func setrange_padsAndLimits() {
        var h = KeyspaceHarness()
        #expect(h.run("SETRANGE", "s", "-1", "x") == .error("ERR offset is out of range"))
        #expect(h.run("SETRANGE", "s", "x", "x") == notInteger)
        #expect(h.run("SETRANGE", "s", "536870912", "x")
            == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(h.run("SETRANGE", "s", "9223372036854775807", "x")
            == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(h.run("SETRANGE", "s", "5", "") == .integer(0))
        #expect(h.keyspace.count == 0)
        #expect(h.run("SETRANGE", "s", "2", "ab") == .integer(4))
        #expect(h.keyspace.entries[bytes("s")]?.value == [0, 0, 97, 98])
        h.run("SET", "s", "hello")
        #expect(h.run("SETRANGE", "s", "100", "") == .integer(5))
        #expect(h.run("SETRANGE", "s", "1", "abc") == .integer(5))
        #expect(h.value("s") == "habco")
    }

    @Test func getrange_indexRules_matchRedis() {
        var h = KeyspaceHarness()
        h.run("SET", "s", "habco")
        #expect(h.run("GETRANGE", "s", "0", "-1") == .bulk("habco"))
        #expect(h.run("GETRANGE", "s", "-100", "100") == .bulk("habco"))
        #expect(h.run("GETRANGE", "s", "3", "1") == .bulk(""))
        #expect(h.run("GETRANGE", "s", "-1", "-2") == .bulk(""))
        #expect(h.run("GETRANGE", "s", "-2", "-1") == .bulk("co"))
        #expect(h.run("GETRANGE", "s", "-9223372036854775808", "0") == .bulk("h"))
        #expect(h.run("GETRANGE", "missing", "0", "-1") == .bulk(""))
        #expect(h.run("GETRANGE", "s", "x", "1") == notInteger)
        #expect(h.run("SUBSTR", "s", "1", "2") == .bulk("ab"))
        h.run("SET", "e", "")
        #expect(h.run("GETRANGE", "e", "0", "-1") == .bulk(""))
    }
}
