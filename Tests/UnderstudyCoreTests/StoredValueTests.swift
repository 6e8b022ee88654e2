import Testing
@testable import UnderstudyCore

@Suite struct StoredValueTests {
    @Test func get_repliesWithTheStoredBytes_equalToTheSameBulk() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "value")
        let reply = h.run("GET", "k")
        guard case .storedBulk(let value) = reply else {
            Issue.record("GET replied \(reply), not a stored bulk")
            return
        }
        #expect(value.bytes == bytes("value"))
        #expect(value.count == 5)
        #expect(reply == .bulk("value"))
        #expect(Reply.bulk("value") == reply)
        #expect(reply == h.run("GET", "k"))
        #expect(reply != .bulk("valuE"))
        #expect(reply != .bulk("valu"))
        #expect(reply != .nullBulk)
        #expect(reply != .simple("value"))
        #expect(h.run("GET", "missing") == .nullBulk)
        #expect(h.run("MGET", "k", "missing") == .array([.bulk("value"), .nullBulk]))
    }

    @Test func heldReply_keepsItsBytes_whileTheKeyChanges() {
        var h = KeyspaceHarness()
        h.run("SET", "k", "abcd")
        let held = h.run("GET", "k")
        // Same length: without the held reference the entry would be rewritten in place.
        h.run("SET", "k", "wxyz")
        #expect(held == .bulk("abcd"))
        #expect(h.run("GET", "k") == .bulk("wxyz"))

        let heldAgain = h.run("GET", "k")
        h.run("SETRANGE", "k", "0", "ZZ")
        h.run("APPEND", "k", "!")
        h.run("EXPIRE", "k", "100")
        #expect(heldAgain == .bulk("wxyz"))
        #expect(h.run("GET", "k") == .bulk("ZZyz!"))
        #expect(held == .bulk("abcd"))
    }

    @Test func rememberedReply_isEncodedAsTheSameBulk() throws {
        var h = KeyspaceHarness()
        h.run("SET", "k", "value")
        let reply = h.run("GET", "k")
        let stored = Effect.remember(key: bytes("id"), fingerprint: 7, reply: reply, atMilliseconds: 1)
        let copied = Effect.remember(key: bytes("id"), fingerprint: 7, reply: .bulk("value"), atMilliseconds: 1)
        #expect(Effect.encodeRecord([stored]) == Effect.encodeRecord([copied]))
        #expect(try Effect.decodeRecord(Effect.encodeRecord([stored])) == [copied])
        #expect(reply.resp2Shape == .bulk("value"))
    }
}
