import MetricsTestKit
import Testing
import UnderstudyCore
import UnderstudyTestKit
@testable import UnderstudyServer

/// The node's swift-metrics: the closed label sets (commands, results, refusal reasons), and
/// against a real node that commands, refusals and connections are counted where they happen.
@Suite(.timeLimit(.minutes(1)))
struct ServerMetricsTests {
    @Test func unknownCommands_shareTheOtherSeries_knownOnesHaveTheirOwn() throws {
        let metrics = TestMetrics()
        let server = ServerMetrics(factory: metrics)
        server.command(named: "nosuchcommand").record(.error, durationNanoseconds: 1_000)
        server.command(named: "another-unknown").record(.error, durationNanoseconds: 1_000)
        server.command(named: "get").record(.ok, durationNanoseconds: 2_000)
        #expect(try metrics.expectCounter("understudy_commands_total", [("command", "other"), ("result", "error")]).totalValue == 2)
        #expect(try metrics.expectCounter("understudy_commands_total", [("command", "get"), ("result", "ok")]).totalValue == 1)
        #expect(try metrics.expectTimer("understudy_command_duration_seconds", [("command", "get")]).lastValue == 2_000)
        #expect(throws: (any Error).self, "no series is made from an unknown name") {
            try metrics.expectCounter("understudy_commands_total", [("command", "nosuchcommand"), ("result", "error")])
        }
    }

    @Test func aRefusal_countsUnderItsReason() throws {
        let metrics = TestMetrics()
        let server = ServerMetrics(factory: metrics)
        server.refused(.lease)
        server.refused(.lease)
        server.refused(.outputBuffer)
        #expect(try metrics.expectCounter("understudy_requests_refused_total", [("reason", "lease")]).totalValue == 2)
        #expect(try metrics.expectCounter("understudy_requests_refused_total", [("reason", "output_buffer")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_requests_refused_total", [("reason", "fenced")]).totalValue == 0)
    }

    @Test func everyCommandRefusal_mapsToItsReason() {
        #expect(NodeEngine.refusalReason(of: .leaseExpired(epoch: Epoch(3))) == .lease)
        #expect(NodeEngine.refusalReason(of: .roleUndecided) == .roleUndecided)
        #expect(NodeEngine.refusalReason(of: .standby(knownEpoch: Epoch(2))) == .readonly)
        #expect(NodeEngine.refusalReason(of: .superseded(epoch: Epoch(2), by: Epoch(3))) == .fenced)
        #expect(NodeEngine.refusalReason(of: .logFailed(reason: "disk full")) == .logFailed)
        #expect(NodeEngine.refusalReason(of: .limit(message: "NOREPLICAS too many writes waiting")) == .noreplicas)
        #expect(NodeEngine.refusalReason(of: .limit(message: "READONLY this node is no longer primary")) == .fenced)
    }

    @Test func replies_areClassifiedAsOkErrorOrRefused() {
        #expect(ClientHandler.result(of: .ok) == .ok)
        #expect(ClientHandler.result(of: .error("WRONGTYPE Operation against a key holding the wrong kind of value")) == .error)
        #expect(ClientHandler.result(of: .error("TRYAGAIN this primary's lease has expired")) == .refused)
        #expect(ClientHandler.result(of: .error("READONLY You can't write against a read only replica.")) == .refused)
    }

    @Test func aRealNode_countsCommandsRefusedConnectionsAndClients() async throws {
        let directory = try TemporaryDirectory()
        let metrics = TestMetrics()
        var configuration = TestNode.configuration(dataDirectory: directory.path)
        configuration.maxConnections = 1
        configuration.metricsFactory = metrics
        try await TestNode.run(configuration) { node in
            try await node.withConnection { first in
                #expect(try await first.call("SET", "k", "v") == .ok)
                #expect(try await first.call("INCR", "k") == .error("ERR value is not an integer or out of range"))
                _ = try await first.call("NOSUCHCOMMAND")
                let metricsReply = try await first.call("METRICS")
                #expect(metricsReply == .error("ERR metrics are not enabled in this process"))
                try await node.withConnection { second in
                    let refusal = try await second.nextReply()
                    #expect(refusal == .error("ERR max number of clients reached"))
                }
            }
        }
        #expect(try metrics.expectCounter("understudy_commands_total", [("command", "set"), ("result", "ok")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_commands_total", [("command", "incr"), ("result", "error")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_commands_total", [("command", "other"), ("result", "error")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_requests_refused_total", [("reason", "max_connections")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_connections_total").totalValue == 2)
        #expect(try metrics.expectTimer("understudy_wal_fsync_duration_seconds").values.count >= 1)
        #expect(try metrics.expectRecorder("understudy_wal_group_commit_records").values.count >= 1)
    }

    @Test func theExposition_rendersWhatItsFactoryRecorded() {
        let exposition = MetricsExposition()
        let server = ServerMetrics(factory: exposition.makeFactory())
        server.refused(.noreplicas)
        server.command(named: "get").record(.ok, durationNanoseconds: 30_000)
        let text = String(decoding: exposition.render(), as: UTF8.self)
        #expect(text.contains(#"understudy_requests_refused_total{reason="noreplicas"} 1"#))
        #expect(text.contains(#"understudy_command_duration_seconds_bucket{command="get",le="0.00005"} 1"#))
        #expect(text.contains(#"understudy_build_info{version="0.1.0"} 1"#))
    }
}
