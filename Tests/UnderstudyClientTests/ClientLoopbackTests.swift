import UnderstudyTestKit
import Testing
import UnderstudyClient
import UnderstudyCore

@Suite struct ClientLoopbackTests {
    private func client(port: Int) throws -> UnderstudyClient {
        var configuration = UnderstudyClient.Configuration()
        configuration.randomSource = .seeded(42)
        return try UnderstudyClient(seeds: ["127.0.0.1:\(port)"], configuration: configuration)
    }

    @Test func standaloneNode_setGetIncr_workThroughTheClient() async throws {
        try await LoopbackNode.run { port in
            let client = try client(port: port)
            try await client.set("greeting", "hello")
            #expect(try await client.get("greeting") == Array("hello".utf8))
            #expect(try await client.get("missing") == nil)
            #expect(try await client.incr("counter") == 1)
            #expect(try await client.incrBy("counter", 41) == 42)
            #expect(try await client.decr("counter") == 41)
            #expect(try await client.decrBy("counter", 40) == 1)
            #expect(await client.currentPrimary == NodeAddress(host: "127.0.0.1", port: port))
            var events = client.topologyEvents.makeAsyncIterator()
            let first = await events.next()
            #expect(first?.kind == .primaryChanged && first?.node == NodeAddress(host: "127.0.0.1", port: port))
            #expect(first?.epoch == (await client.highestEpoch))
            await client.shutdown()
        }
    }

    @Test func standaloneNode_theOtherTypedCommands() async throws {
        try await LoopbackNode.run { port in
            let client = try client(port: port)
            let notSet = try await client.set("a", "1", with: SetOptions(condition: .ifExists))
            #expect(!notSet.applied)
            try await client.mset([(key: "a", value: Array("1".utf8)), (key: "b", value: Array("2".utf8))])
            let swapped = try await client.set("a", "3", with: SetOptions(returnPreviousValue: true))
            #expect(swapped == SetOutcome(applied: true, previousValue: Array("1".utf8)))
            #expect(try await client.mget(["a", "b", "c"]) == [Array("3".utf8), Array("2".utf8), nil])
            #expect(try await client.append("b", Array("x".utf8)) == 2)
            #expect(try await client.exists(["a", "b", "c"]) == 2)
            #expect(try await client.ttl("a") == .noExpiry)
            #expect(try await client.expire("a", seconds: 100))
            guard case .seconds(let seconds) = try await client.ttl("a") else { throw TestFailure("a has a TTL") }
            #expect((1...100).contains(seconds))
            #expect(try await client.del(["a", "b", "c"]) == 2)
            #expect(try await client.send(["PING"], options: CallOptions(readRouting: .standbyAllowed)) == .simple("PONG"))
            await client.shutdown()
        }
    }

    @Test func anIdempotencyKey_runsTheWriteOnce_andConflictsWithAnotherCommand() async throws {
        try await LoopbackNode.run { port in
            let client = try client(port: port)
            let options = CallOptions(idempotencyKey: "order-17")
            #expect(try await client.incrBy("stock", 5, options: options) == 5)
            #expect(try await client.incrBy("stock", 5, options: options) == 5, "a repeat gets the stored reply")
            #expect(try await client.get("stock") == Array("5".utf8))
            do throws(UnderstudyClientError) {
                _ = try await client.decr("stock", options: options)
                Issue.record("the same key with another command must fail")
            } catch {
                #expect(error.code == .idempotencyKeyConflict)
            }
            do throws(UnderstudyClientError) {
                _ = try await client.set("text", "abc")
                _ = try await client.incr("text")
                Issue.record("INCR of a non-number must fail")
            } catch {
                #expect(error.code == .serverError)
            }
            await client.shutdown()
        }
    }

    @Test func shutdown_isIdempotent_andLaterCallsFail() async throws {
        try await LoopbackNode.run { port in
            let client = try client(port: port)
            try await client.set("k", "v")
            await client.shutdown()
            await client.shutdown()
            do throws(UnderstudyClientError) {
                _ = try await client.get("k")
                Issue.record("a call after shutdown must fail")
            } catch {
                #expect(error.code == .shutDown)
            }
        }
    }
}
