import Testing
import UnderstudyClient
import UnderstudyCore

/// The typed string and keyspace commands beyond the basic set, against a real node.
@Suite struct ClientKeyCommandsTests {
    @Test func theKeyCommands_answerAsRedisDoes() async throws {
        try await LoopbackNode.run { port in
            let client = try UnderstudyClient(seeds: ["127.0.0.1:\(port)"])
            try await client.set("s", "hello")
            #expect(try await client.strlen("s") == 5)
            #expect(try await client.getRange("s", start: 1, end: 3) == Array("ell".utf8))
            #expect(try await client.setRange("s", offset: 5, Array(" world".utf8)) == 11)
            #expect(try await client.type("s") == "string")
            #expect(try await client.type("missing") == "none")
            #expect(try await client.incrByFloat("f", 1.5) == 1.5)
            #expect(try await client.rename("s", to: "t"))
            #expect(try await !client.rename("t", to: "f", ifAbsent: true), "RENAMENX onto an existing key")
            #expect(try await client.pexpire("t", milliseconds: 60_000))
            #expect(try await client.pttl("t") > 0)
            #expect(try await client.persist("t"))
            #expect(try await client.pttl("t") == -1)
            #expect(try await client.pttl("missing") == -2)
            #expect(try await client.dbsize() == 2)
            var seen: [String] = []
            var cursor: UInt64 = 0
            for _ in 0..<100 {  // bounded: two keys take one batch or a few
                let page = try await client.scan(cursor: cursor, count: 10)
                seen += page.keys.map { String(decoding: $0, as: UTF8.self) }
                cursor = page.cursor
                if cursor == 0 { break }
            }
            #expect(Set(seen) == ["t", "f"])
            #expect(try await client.getDel("t") == Array("hello world".utf8))
            #expect(try await client.unlink(["f", "t"]) == 1)
            await client.shutdown()
        }
    }
}
