import Synchronization
import Testing
import UnderstudyClient
import UnderstudyCore

/// Nodes that accept connections and read requests but never answer them must not hold a
/// caller past its deadline, and a write sent to one must never be reported as not applied.
@Suite struct StuckNodeTests {
    /// Long enough that the first probe (up to 300 ms) finds the primary before the deadline
    /// even while the rest of the suite loads both cores (CI saw a 100 ms probe time out).
    private static let deadlineMilliseconds: Int64 = 1_000
    /// Scheduling slack: the suite runs beside every other suite on 2 cores, and CI saw a
    /// call end 1 s late (and once 11 s) while the rest of the suite loaded both cores. What
    /// this suite proves is that a call to a node that never answers ends — by its deadline,
    /// not when the node does — so the bound only has to be finite and well below the
    /// nothing-ever-happens case; how late under load is the benchmarks' business
    /// (benchmarks/client_failover.py).
    private static let slack: Duration = .seconds(15)

    private func client(port: Int) throws -> UnderstudyClient {
        var configuration = UnderstudyClient.Configuration()
        configuration.perAttemptTimeoutMilliseconds = 100
        configuration.probeTimeoutMilliseconds = 300
        configuration.deadlineMilliseconds = Self.deadlineMilliseconds
        configuration.randomSource = .seeded(3)
        return try UnderstudyClient(seeds: ["127.0.0.1:\(port)"], configuration: configuration)
    }

    /// Runs `call` and returns its error and how long it took.
    private func timedFailure(_ call: () async throws(UnderstudyClientError) -> Void) async -> (UnderstudyClientError?, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await call()
            return (nil, clock.now - start)
        } catch {
            return (error, clock.now - start)
        }
    }

    @Test func aNodeThatNeverAnswers_failsTheCallByItsDeadline() async throws {
        let node = try await ScriptedNode.start { _ in nil }
        let client = try client(port: node.port)
        let (error, elapsed) = await timedFailure { () async throws(UnderstudyClientError) in _ = try await client.get("k") }
        #expect(error != nil)
        #expect(elapsed < .milliseconds(Self.deadlineMilliseconds) + Self.slack, "held \(elapsed)")
        await client.shutdown()
        try await node.stop()
    }

    @Test func aPrimaryThatStopsAnswering_makesAWriteIndeterminate_byTheDeadline() async throws {
        let received = Mutex<Set<String>>([])
        let node = try await ScriptedNode.start { command -> Reply? in
            received.withLock { _ = $0.insert(command.name) }
            return switch command.name {
            case "role": .array([.bulk("master"), .integer(0), .array([])])
            case "info": .bulk("# Replication\r\nrole:master\r\nunderstudy_epoch:1\r\n")
            default: nil
            }
        }
        let client = try client(port: node.port)
        let (plain, plainElapsed) = await timedFailure { () async throws(UnderstudyClientError) in try await client.set("k", "v") }
        // A write that reached the node may have run: indeterminate. A write the node never
        // saw may still have been sent (it reads later than the client gives up), so then
        // either answer is right; only on a machine so loaded that discovery used up the
        // deadline is the SET never sent, and "deadline exceeded" (not executed) is right.
        let setWasReceived = received.withLock { $0.contains("set") }
        #expect(plain?.code == .indeterminate || (!setWasReceived && plain?.code == .deadlineExceeded),
                "a write sent without reply may have run: \(String(describing: plain))")
        #expect(plainElapsed < .milliseconds(Self.deadlineMilliseconds) + Self.slack)
        let (keyed, keyedElapsed) = await timedFailure { () async throws(UnderstudyClientError) in _ = try await client.incr("n") }
        let incrWasReceived = received.withLock { $0.contains("idempotent") }
        #expect((keyed?.code == .indeterminate && keyed?.idempotencyKey?.count == 32)
                || (!incrWasReceived && keyed?.code == .deadlineExceeded), "\(String(describing: keyed))")
        #expect(keyedElapsed < .milliseconds(Self.deadlineMilliseconds) + Self.slack, "held \(keyedElapsed)")
        let (read, readElapsed) = await timedFailure { () async throws(UnderstudyClientError) in _ = try await client.get("k") }
        #expect(read != nil && read?.code != .indeterminate)
        #expect(readElapsed < .milliseconds(Self.deadlineMilliseconds) + Self.slack)
        await client.shutdown()
        try await node.stop()
    }
}
