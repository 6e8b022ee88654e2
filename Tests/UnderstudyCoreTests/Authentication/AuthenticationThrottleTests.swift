import Testing
@testable import UnderstudyCore

@Suite struct AuthenticationThrottleTests {
    @Test func freeFailures_thenDoublingDelays_cappedAtTheMaximum() {
        var throttle = AuthenticationThrottle()
        var delays: [Int64] = []
        for attempt in 0..<10 {
            delays.append(throttle.delayMilliseconds(for: "10.0.0.1", nowMilliseconds: Int64(attempt)))
            throttle.failed(from: "10.0.0.1", nowMilliseconds: Int64(attempt))
        }
        #expect(delays == [0, 0, 0, 0, 0, 50, 100, 200, 400, 800])
        for _ in 0..<10 { throttle.failed(from: "10.0.0.1", nowMilliseconds: 20) }
        #expect(throttle.delayMilliseconds(for: "10.0.0.1", nowMilliseconds: 21) == 1_000)
    }

    @Test func otherAddresses_areNotSlowedDown() {
        var throttle = AuthenticationThrottle()
        for _ in 0..<8 { throttle.failed(from: "10.0.0.1", nowMilliseconds: 0) }
        #expect(throttle.delayMilliseconds(for: "10.0.0.1", nowMilliseconds: 1) > 0)
        #expect(throttle.delayMilliseconds(for: "10.0.0.2", nowMilliseconds: 1) == 0)
    }

    @Test func failuresExpireWithTheWindow() {
        var throttle = AuthenticationThrottle()
        for _ in 0..<8 { throttle.failed(from: "a", nowMilliseconds: 0) }
        let window = throttle.settings.windowMilliseconds
        #expect(throttle.delayMilliseconds(for: "a", nowMilliseconds: window - 1) > 0)
        #expect(throttle.delayMilliseconds(for: "a", nowMilliseconds: window) == 0)
        throttle.failed(from: "a", nowMilliseconds: window)
        #expect(throttle.delayMilliseconds(for: "a", nowMilliseconds: window + 1) == 0)
    }

    @Test func success_forgivesTheAddress() {
        var throttle = AuthenticationThrottle()
        for _ in 0..<8 { throttle.failed(from: "a", nowMilliseconds: 0) }
        throttle.succeeded(from: "a")
        #expect(throttle.delayMilliseconds(for: "a", nowMilliseconds: 1) == 0)
    }

    @Test func addressTable_isBounded_oldestForgottenFirst() {
        var settings = AuthenticationThrottle.Settings()
        settings.maxAddresses = 3
        var throttle = AuthenticationThrottle(settings: settings)
        for _ in 0..<8 { throttle.failed(from: "old", nowMilliseconds: 0) }
        for (index, address) in ["b", "c", "d"].enumerated() { throttle.failed(from: address, nowMilliseconds: Int64(index + 1)) }
        #expect(throttle.trackedAddressCount == 3)
        #expect(throttle.delayMilliseconds(for: "old", nowMilliseconds: 5) == 0)  // evicted: the one with the oldest failure
    }
}
