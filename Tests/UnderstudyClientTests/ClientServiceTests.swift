import Testing
import UnderstudyClient

/// The client as a swift-service-lifecycle service.
@Suite struct ClientServiceTests {
    @Test func run_shutsTheClientDown_whenItsTaskEnds() async throws {
        try await LoopbackNode.run { port in
            let client = try UnderstudyClient(seeds: ["127.0.0.1:\(port)"])
            try await client.set("k", "v")
            let running = Task { try await client.run() }
            running.cancel()
            try await running.value
            await #expect(throws: UnderstudyClientError.self) { _ = try await client.get("k") }
        }
    }
}
