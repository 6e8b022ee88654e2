import MetricsTestKit
import Testing
import UnderstudyClient
import UnderstudyCore

/// The client's swift-metrics, against a real node: requests by result with their duration,
/// attempts sent. (Failovers seen and recovery times are recorded by the same code paths the
/// fault tests in tests/test_client.py drive.)
@Suite struct ClientMetricsTests {
    @Test func requests_areCountedByResult_andTimed_andAttemptsCounted() async throws {
        let metrics = TestMetrics()
        try await LoopbackNode.run { port in
            var configuration = UnderstudyClient.Configuration()
            configuration.randomSource = .seeded(7)
            let client = try UnderstudyClient(seeds: ["127.0.0.1:\(port)"], configuration: configuration, metricsFactory: metrics)
            try await client.set("k", "v")
            _ = try await client.incr("n")
            await #expect(throws: UnderstudyClientError.self) { _ = try await client.incr("k") }
            await client.shutdown()
        }
        #expect(try metrics.expectCounter("understudy_client_requests_total", [("result", "ok")]).totalValue == 2)
        #expect(try metrics.expectCounter("understudy_client_requests_total", [("result", "serverError")]).totalValue == 1)
        #expect(try metrics.expectCounter("understudy_client_attempts_total").totalValue == 3)
        #expect(try metrics.expectTimer("understudy_client_request_duration_seconds").values.count == 3)
        #expect(metrics.counters(label: "understudy_client_retries_total").allSatisfy { $0.totalValue == 0 })
    }
}
