import Testing
@testable import UnderstudyCore

@Suite struct KeyspaceKeysTests {
    @Test func del_unlink_exists_type() {
        var h = KeyspaceHarness()
        h.run("MSET", "a", "1", "b", "2", "c", "3")
        #expect(h.run("EXISTS", "a", "a", "b", "x") == .integer(3))
        #expect(h.run("TYPE", "a") == .simple("string"))
        #expect(h.run("TYPE", "x") == .simple("none"))
        #expect(h.run("DEL", "a", "a", "x") == .integer(1))
        #expect(h.lastEffects == [.delete(key: bytes("a"))])
        #expect(h.run("UNLINK", "b", "c") == .integer(2))
        #expect(h.run("DBSIZE") == .integer(0))
    }

    @Test func del_expiredKey_countsZero_butLogsDelete() {
        var h = KeyspaceHarness()
        h.keyspace.apply(.set(key: bytes("k"), value: [], expireAtMilliseconds: h.nowMilliseconds - 1))
        #expect(h.run("DBSIZE") == .integer(1), "like Redis, DBSIZE counts keys not yet expired lazily")
        #expect(h.run("DEL", "k") == .integer(0))
        #expect(h.lastEffects == [.delete(key: bytes("k"))])
    }

    @Test func rename_movesValueAndExpiry() {
        var h = KeyspaceHarness()
        #expect(h.run("RENAME", "a", "b") == .error("ERR no such key"))
        #expect(h.run("RENAMENX", "a", "a") == .error("ERR no such key"))
        h.run("SET", "a", "1", "EX", "100")
        h.run("SET", "b", "2")
        #expect(h.run("RENAME", "a", "a") == .ok)
        #expect(h.run("RENAMENX", "a", "a") == .integer(0))
        #expect(h.lastEffects.isEmpty)
        #expect(h.run("RENAMENX", "a", "b") == .integer(0))
        #expect(h.run("RENAME", "a", "b") == .ok)
        #expect(h.lastEffects == [.rename(from: bytes("a"), to: bytes("b"))])
        #expect(h.value("b") == "1")
        #expect(h.expiry("b") == h.nowMilliseconds + 100_000)
        #expect(h.value("a") == nil)
        #expect(h.run("RENAMENX", "b", "c") == .integer(1))
        #expect(h.keyspace.keysWithExpiryCount == 1)
    }

    @Test func rename_ontoExpiredTarget_deletesItFirst() {
        var h = KeyspaceHarness()
        h.run("SET", "a", "1")
        h.keyspace.apply(.set(key: bytes("b"), value: [], expireAtMilliseconds: h.nowMilliseconds - 1))
        #expect(h.run("RENAMENX", "a", "b") == .integer(1))
        #expect(h.lastEffects == [.delete(key: bytes("b")), .rename(from: bytes("a"), to: bytes("b"))])
    }

    @Test func randomkey_usesInjectedGenerator_andDeletesExpiredKeys() {
        var h = KeyspaceHarness()
        #expect(h.run("RANDOMKEY") == .nullBulk)
        for index in 0..<10 {
            h.keyspace.apply(.set(key: bytes("dead\(index)"), value: [], expireAtMilliseconds: 1))
        }
        h.run("SET", "live", "1")
        #expect(h.run("RANDOMKEY") == .bulk("live"))
        #expect(h.lastEffects.allSatisfy { if case .delete = $0 { true } else { false } })
        var seen: Set<[UInt8]> = []
        for index in 0..<20 { h.run("SET", "k\(index)", "v") }
        for _ in 0..<200 {
            if case .bulk(let key?) = h.run("RANDOMKEY") { seen.insert(key) }
        }
        #expect(seen.count > 15)
        var again = KeyspaceHarness()
        for index in 0..<20 { again.run("SET", "k\(index)", "v") }
        var first = KeyspaceHarness()
        for index in 0..<20 { first.run("SET", "k\(index)", "v") }
        #expect((0..<10).map { _ in again.run("RANDOMKEY") } == (0..<10).map { _ in first.run("RANDOMKEY") })
    }

    @Test func keys_matchesGlob_andSkipsExpired() {
        var h = KeyspaceHarness()
        h.run("MSET", "hello", "1", "hallo", "2", "world", "3")
        h.keyspace.apply(.set(key: bytes("hxllo"), value: [], expireAtMilliseconds: 1))
        #expect(h.run("KEYS", "h?llo") == .strings(["hello", "hallo"]))
        #expect(h.lastEffects == [.delete(key: bytes("hxllo"))])
        #expect(h.run("KEYS", "*") == .strings(["hello", "hallo", "world"]))
        #expect(h.run("KEYS", "[") == .array([]))
    }

    @Test func scan_walksEverything_withOptions() {
        var h = KeyspaceHarness()
        for index in 0..<25 { h.run("SET", "key:\(index)", "v") }
        h.run("SET", "other", "v")
        var cursor = "0"
        var found: [String] = []
        repeat {
            guard case .array(let parts?) = h.run("SCAN", cursor, "MATCH", "key:*", "COUNT", "7"),
                  case .bulk(let next?) = parts[0], case .array(let keys?) = parts[1] else {
                Issue.record("malformed SCAN reply")
                return
            }
            cursor = String(decoding: next, as: UTF8.self)
            found += keys.compactMap { if case .bulk(let key?) = $0 { String(decoding: key, as: UTF8.self) } else { nil } }
        } while cursor != "0"
        #expect(Set(found) == Set((0..<25).map { "key:\($0)" }))
        #expect(found.count == 25)
        #expect(h.run("SCAN", "0", "TYPE", "STRING", "COUNT", "100") == .array([.bulk("0"), .strings((0..<25).map { "key:\($0)" } + ["other"])]))
        #expect(h.run("SCAN", "0", "TYPE", "hash", "COUNT", "100") == .array([.bulk("0"), .array([])]))
        #expect(h.run("SCAN", "-1") == .array([.bulk("0"), .array([])]))
    }

    @Test func scan_errors_matchRedis() {
        var h = KeyspaceHarness()
        #expect(h.run("SCAN", " 0") == .error("ERR invalid cursor"))
        #expect(h.run("SCAN", "abc", "COUNT", "0") == .error("ERR invalid cursor"))
        #expect(h.run("SCAN", "18446744073709551616") == .error("ERR invalid cursor"))
        #expect(h.run("SCAN", "0", "COUNT", "0") == .error("ERR syntax error"))
        #expect(h.run("SCAN", "0", "COUNT", "-1") == .error("ERR syntax error"))
        #expect(h.run("SCAN", "0", "COUNT", "abc") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("SCAN", "0", "MATCH") == .error("ERR syntax error"))
        #expect(h.run("SCAN", "0", "FOO", "bar") == .error("ERR syntax error"))
        #expect(h.run("SCAN", "") == .array([.bulk("0"), .array([])]))
    }

    /// The guarantee: a key present for the whole iteration is returned at least once, even
    /// while other keys are added and removed between calls (and the index compacts).
    @Test(arguments: [1, 2, 3, 4, 5])
    func scan_returnsEveryStableKey_underConcurrentChurn(seed: UInt64) {
        var h = KeyspaceHarness()
        var random = SeededGenerator(seed: seed)
        let stable = (0..<300).map { "stable:\($0)" }
        var volatile: [String] = (0..<300).map { "churn:\($0)" }
        var interleaved: [String] = []
        for (a, b) in zip(stable, volatile) { interleaved += [a, b] }
        for key in interleaved { h.run("SET", key, "v") }
        var nextChurn = 300
        var cursor = "0"
        var found: Set<String> = []
        repeat {
            let count = Int.random(in: 1...20, using: &random)
            guard case .array(let parts?) = h.run("SCAN", cursor, "COUNT", String(count)),
                  case .bulk(let next?) = parts[0], case .array(let keys?) = parts[1] else {
                Issue.record("malformed SCAN reply")
                return
            }
            cursor = String(decoding: next, as: UTF8.self)
            for case .bulk(let key?) in keys { found.insert(String(decoding: key, as: UTF8.self)) }
            for _ in 0..<Int.random(in: 0...30, using: &random) {
                if Bool.random(using: &random), !volatile.isEmpty {
                    let victim = volatile.remove(at: Int.random(in: 0..<volatile.count, using: &random))
                    h.run("DEL", victim)
                } else {
                    let key = "churn:\(nextChurn)"
                    nextChurn += 1
                    volatile.append(key)
                    h.run("SET", key, "v")
                }
            }
        } while cursor != "0"
        #expect(Set(stable).isSubset(of: found))
    }

    @Test func flush_emptiesEverything() {
        var h = KeyspaceHarness()
        h.run("SET", "a", "1", "EX", "10")
        #expect(h.run("FLUSHALL", "FOO") == .error("ERR syntax error"))
        #expect(h.run("FLUSHALL", "sync", "x") == .error("ERR syntax error"))
        #expect(h.keyspace.count == 1)
        #expect(h.run("FLUSHDB", "ASYNC") == .ok)
        #expect(h.lastEffects == [.flushAll])
        #expect(h.keyspace.count == 0)
        #expect(h.keyspace.keysWithExpiryCount == 0)
        h.run("SET", "a", "1")
        #expect(h.run("FLUSHALL") == .ok)
        #expect(h.run("DBSIZE") == .integer(0))
    }
}
