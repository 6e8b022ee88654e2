import Testing
import UnderstudyCore

@Suite struct CoordinationSettingsTests {
    @Test func leaseEqualToFailureTimeout_isRefused_namingBothFlagsAndWhy() throws {
        let problem = try #require(CoordinationSettings(mode: .sync, failureTimeoutMilliseconds: 1_000, leaseMilliseconds: 1_000).problem)
        #expect(problem.contains("--lease (1000 ms) must be shorter than --failure-timeout (1000 ms)"))
        #expect(problem.contains("two primaries could acknowledge writes at once"))
    }

    @Test func leaseJustShorterThanFailureTimeout_isAccepted() {
        #expect(CoordinationSettings(mode: .async, failureTimeoutMilliseconds: 1_000, leaseMilliseconds: 999).problem == nil)
    }

    @Test func leaseNotLongerThanHeartbeat_isRefused_namingBothFlags() throws {
        let problem = try #require(CoordinationSettings(mode: .sync, heartbeatIntervalMilliseconds: 500, leaseMilliseconds: 500).problem)
        #expect(problem.contains("--lease (500 ms) must be longer than --heartbeat-interval (500 ms)"))
    }
}
