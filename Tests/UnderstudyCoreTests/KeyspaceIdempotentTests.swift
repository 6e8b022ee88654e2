import Testing
@testable import UnderstudyCore

/// `IDEMPOTENT <key> <command> …` (issue 10, item 4): at most once per key, the dedup entry
/// in the same record as the effects, replayed like them, bounded and aged by log time.
@Suite struct KeyspaceIdempotentTests {
    @Test func aRepeat_returnsTheStoredReply_withoutRunningTheCommandAgain() {
        var harness = KeyspaceHarness()
        #expect(harness.run("IDEMPOTENT", "k1", "INCR", "counter") == .integer(1))
        #expect(harness.lastEffects.count == 2, "the command's effect and the dedup entry, in one record")
        #expect(harness.run("IDEMPOTENT", "k1", "incr", "counter") == .integer(1), "the name folds case")
        #expect(harness.lastEffects == [], "nothing ran, nothing to log")
        #expect(harness.value("counter") == "1")
        #expect(harness.run("IDEMPOTENT", "k2", "INCR", "counter") == .integer(2), "another key runs")
    }

    @Test func theSameKey_withAnotherCommandOrArguments_isAnError() {
        var harness = KeyspaceHarness()
        harness.run("IDEMPOTENT", "k1", "INCRBY", "counter", "5")
        guard case .error(let message) = harness.run("IDEMPOTENT", "k1", "INCRBY", "counter", "6") else {
            Issue.record("other arguments under the same key were run"); return
        }
        #expect(message.hasPrefix("ERR IDEMPOTENT"))
        #expect(harness.value("counter") == "5")
        #expect(harness.lastEffects == [])
    }

    @Test("Only one write command is wrapped: not a read, not IDEMPOTENT itself, not an unknown name, and its arity is checked",
          arguments: [["GET", "a"], ["IDEMPOTENT", "k2", "INCR", "a"], ["NOSUCH", "a"], ["INCR"], ["INCR", "a", "b"]])
    func wrappingAnythingButOneWellFormedWrite_isAnError(wrapped: [String]) {
        var harness = KeyspaceHarness()
        guard case .error = harness.run(["IDEMPOTENT", "k1"] + wrapped) else {
            Issue.record("\(wrapped) was accepted"); return
        }
        #expect(harness.lastEffects == [] && harness.keyspace.idempotency.count == 0, "nothing ran, nothing remembered")
    }

    @Test func aWriteThatFails_isRememberedWithItsError_soARetryGetsTheSameAnswer() {
        var harness = KeyspaceHarness()
        harness.run("SET", "text", "abc")
        let first = harness.run("IDEMPOTENT", "k1", "INCR", "text")
        #expect(first == .error("ERR value is not an integer or out of range"))
        harness.run("SET", "text", "7")
        #expect(harness.run("IDEMPOTENT", "k1", "INCR", "text") == first)
        #expect(harness.value("text") == "7")
    }

    @Test func theLoggedEffects_replayToTheSameTable_soARetryAfterAFailoverStillRunsOnce() throws {
        var primary = KeyspaceHarness()
        var standby = Keyspace()
        for command in [["IDEMPOTENT", "k1", "INCR", "c"], ["IDEMPOTENT", "k2", "SET", "s", "v", "NX"], ["IDEMPOTENT", "k3", "MGET", "c"]] {
            primary.run(command)
            // Through the WAL's own codec, as a standby applies them.
            for effect in try Effect.decodeRecord(Effect.encodeRecord(primary.lastEffects)) { standby.apply(effect) }
        }
        var promoted = KeyspaceHarness(keyspace: standby)
        #expect(promoted.run("IDEMPOTENT", "k1", "INCR", "c") == .integer(1))
        #expect(promoted.run("IDEMPOTENT", "k2", "SET", "s", "v", "NX") == .ok)
        #expect(promoted.value("c") == "1")
        #expect(promoted.keyspace.idempotency.count == 2, "MGET is no write: k3 was refused, not remembered")
    }

    @Test func theTable_agesByLogTime_andKeepsAtMostItsBound_oldestFirst() {
        var table = IdempotencyTable(retentionMilliseconds: 1_000, maxEntries: 3)
        for (index, at) in [Int64(0), 100, 200].enumerated() {
            table.remember(Array("k\(index)".utf8), fingerprint: 1, reply: .ok, atMilliseconds: at)
        }
        table.remember(Array("k3".utf8), fingerprint: 1, reply: .ok, atMilliseconds: 300)
        #expect(table.count == 3 && table.entry(for: Array("k0".utf8)) == nil, "past the bound, the oldest goes")
        table.remember(Array("k4".utf8), fingerprint: 1, reply: .ok, atMilliseconds: 1_150)
        #expect(table.entriesInOrder.map { String(decoding: $0.key, as: UTF8.self) } == ["k2", "k3", "k4"])
        table.remember(Array("k5".utf8), fingerprint: 1, reply: .ok, atMilliseconds: 1_250)
        #expect(table.entriesInOrder.map { String(decoding: $0.key, as: UTF8.self) } == ["k3", "k4", "k5"],
                "k2 (at 200) is more than a second older than the newest log time")
    }

    @Test func rememberEffects_roundTrip_andHostileNestingIsRefused() throws {
        let reply = Reply.array([.bulk(bytes("a")), .bulk(nil), .array([.integer(-3), .simple("OK"), .error("ERR x")]), .array(nil)])
        let effect = Effect.remember(key: bytes("key"), fingerprint: .max, reply: reply, atMilliseconds: -5)
        #expect(try Effect.decodeRecord(Effect.encodeRecord([effect])) == [effect])
        var deep = Reply.integer(1)
        for _ in 0..<6 { deep = .array([deep]) }
        let encoded = Effect.encodeRecord([.remember(key: [], fingerprint: 0, reply: deep, atMilliseconds: 0)])
        #expect(throws: EffectCodecError.self) { try Effect.decodeRecord(encoded) }
        #expect(throws: EffectCodecError.self) { try Effect.decodeRecord(Effect.encodeRecord([effect]).dropLast()) }
    }
}
