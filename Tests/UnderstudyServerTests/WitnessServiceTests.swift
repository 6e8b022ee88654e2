import UnderstudyTestKit
import ServiceLifecycle
import UnderstudyClient
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct WitnessServiceTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]

    private func runWitness<Result: Sendable>(in directory: String, _ body: (ListenAddress) async throws -> Result) async throws -> Result {
        var configuration = WitnessConfiguration(dataDirectory: directory, host: "127.0.0.1", port: 0, nodes: nodes)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        configuration.onListening = { port in continuation.yield(port) }
        let group = ServiceGroup(services: [WitnessService(configuration: configuration, logger: TestNode.logger)], logger: TestNode.logger)
        return try await runServing(group, ports: ports, portContinuation: continuation) { port in
            try await body(ListenAddress(host: "127.0.0.1", port: port))
        }
    }

    private func ask(_ request: WitnessRequest, _ address: ListenAddress) async throws -> Reply {
        let replies = try await NodeRequest.send([Command(arguments: request.arguments)], to: address)
        return replies[0]
    }

    /// The words of a `+STATE` reply (empty for anything else).
    private func recordWords(_ reply: Reply) -> [String] {
        guard case .simple(let line) = reply else { return [] }
        return line.split(separator: " ").map(String.init)
    }

    @Test func bootstrapsAPrimary_andTheChoiceSurvivesARestart() async throws {
        var identity: String?
        let directory = try TemporaryDirectory()
        try await runWitness(in: directory.path) { witness in
            let reply = try await ask(.hello(node: nodes[1], hint: .primary, epoch: Epoch(1), lastLSN: .zero), witness)
            #expect(recordWords(reply).dropLast() == ["STATE", "1", "127.0.0.1:7002", "127.0.0.1:7001", "1", "sync", "0"])
            identity = recordWords(reply).last
        }
        try await runWitness(in: directory.path) { witness in
            // The other node now asks with a primary hint: the persisted record decides.
            let reply = try await ask(.hello(node: nodes[0], hint: .primary, epoch: Epoch(1), lastLSN: LSN(50)), witness)
            #expect(recordWords(reply).dropLast() == ["STATE", "1", "127.0.0.1:7002", "127.0.0.1:7001", "1", "sync", "0"])
            // The cluster identity made at bootstrap is kept.
            #expect(recordWords(reply).last == identity)
            #expect(identity.map(ClusterIdentity.isValid) == true)
        }
    }

    @Test func aGrantedEpochSurvivesARestart_andIsNeverGrantedAgain() async throws {
        let directory = try TemporaryDirectory()
        var identity: String?
        try await runWitness(in: directory.path) { witness in
            let hello = try await ask(.hello(node: nodes[0], hint: .primary, epoch: Epoch(1), lastLSN: .zero), witness)
            identity = recordWords(hello).last  // a member's vote carries the cluster's identity
            // No heartbeat was ever answered: once the start-up promise (the drift margin) has
            // run out, the vote goes through.
            let granted = ContinuousClock.now + .seconds(5)
            var vote = try await ask(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: .zero, maxLagBytes: 0, clusterID: identity), witness)
            while case .error(let denial) = vote, denial.hasPrefix("DENIED the primary's lease"), ContinuousClock.now < granted {
                vote = try await ask(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: .zero, maxLagBytes: 0, clusterID: identity), witness)
            }
            #expect(recordWords(vote).dropLast() == ["STATE", "2", "127.0.0.1:7002", "127.0.0.1:7001", "0", "sync", "0"])
        }
        try await runWitness(in: directory.path) { witness in
            let again = try await ask(.vote(node: nodes[0], epoch: Epoch(2), durableLSN: LSN(9), maxLagBytes: 0, clusterID: identity), witness)
            #expect(again == .error("EPOCH 2 127.0.0.1:7002"))
            let stale = try await ask(.heartbeat(WitnessHeartbeat(node: nodes[0], epoch: Epoch(1), mode: .sync, leaseMilliseconds: 500,
                                                                  lastWrittenLSN: LSN(9), standbyDurableLSN: nil, standbyLagBytes: nil)), witness)
            #expect(stale == .error("EPOCH 2 127.0.0.1:7002"))
        }
    }

    @Test func badRequests_getAnError_andCostNothing() async throws {
        let directory = try TemporaryDirectory()
        try await runWitness(in: directory.path) { witness in
            let replies = try await NodeRequest.send(
                [Command("WITNESS", "VOTE", "x"), Command("SET", "k", "v"), Command("PING"), Command("WITNESS", "STATUS")], to: witness)
            guard case .error(let bad) = replies[0], bad.hasPrefix("ERR bad WITNESS request") else {
                Issue.record("expected an error, got \(replies[0])"); return
            }
            guard case .error(let unknown) = replies[1], unknown.contains("witness") else {
                Issue.record("expected an unknown-command error, got \(replies[1])"); return
            }
            #expect(replies[2] == .simple("PONG"))
            guard case .error(let status) = replies[3], status.hasPrefix("DENIED") else {
                Issue.record("a new witness has no record yet, got \(replies[3])"); return
            }
        }
    }

    @Test func sentinelClients_learnThePrimary_andSubscribersHearTheSwitchOfAHandover() async throws {
        let directory = try TemporaryDirectory()
        try await runWitness(in: directory.path) { witness in
            try await TestConnection.with(port: witness.port) { sentinel in
                #expect(try await sentinel.call("SENTINEL", "get-master-addr-by-name", "understudy") == .array(nil))
                _ = try await ask(.hello(node: nodes[1], hint: .primary, epoch: Epoch(1), lastLSN: .zero), witness)
                #expect(try await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "understudy")
                    == .array([.bulk("127.0.0.1"), .bulk("7002")]))
                #expect(try await sentinel.call("SUBSCRIBE", "+switch-master")
                    == .array([.bulk("subscribe"), .bulk("+switch-master"), .integer(1)]))
                let handover = try await ask(.handover(node: nodes[1], epoch: Epoch(1), to: nodes[0], leaving: false), witness)
                #expect(recordWords(handover).prefix(3) == ["STATE", "2", "127.0.0.1:7001"])
                #expect(try await sentinel.reply()
                    == .array([.bulk("message"), .bulk("+switch-master"), .bulk("understudy 127.0.0.1 7002 127.0.0.1 7001")]))
            }
        }
    }
}
