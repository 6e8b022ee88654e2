import Testing
@testable import UnderstudyClient

@Suite struct CircuitBreakerTests {
    @Test func consecutiveFailures_atTheThreshold_openTheBreaker() {
        var breaker = CircuitBreaker(failureThreshold: 3, coolDownMilliseconds: 1_000)
        for now in Int64(0)..<2 { breaker.failed(breaker.admit(nowMilliseconds: now), nowMilliseconds: now) }
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        breaker.failed(breaker.admit(nowMilliseconds: 5), nowMilliseconds: 5)
        #expect(breaker.state == .open(untilMilliseconds: 1_005))
        let admission = breaker.admit(nowMilliseconds: 10)
        #expect(admission == .rejected(retryAfterMilliseconds: 995))
    }

    @Test func aSuccess_resetsTheFailureCount() {
        var breaker = CircuitBreaker(failureThreshold: 2, coolDownMilliseconds: 1_000)
        breaker.failed(breaker.admit(nowMilliseconds: 0), nowMilliseconds: 0)
        breaker.succeeded(breaker.admit(nowMilliseconds: 1))
        breaker.failed(breaker.admit(nowMilliseconds: 2), nowMilliseconds: 2)
        #expect(breaker.state == .closed(consecutiveFailures: 1))
    }

    @Test func afterTheCoolDown_oneProbe_closesOnSuccess() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDownMilliseconds: 100)
        breaker.failed(breaker.admit(nowMilliseconds: 0), nowMilliseconds: 0)
        let probe = breaker.admit(nowMilliseconds: 100)
        #expect(probe == .probe)
        let second = breaker.admit(nowMilliseconds: 101)
        #expect(second == .rejected(retryAfterMilliseconds: 0))
        breaker.succeeded(probe)
        #expect(breaker.state == .closed(consecutiveFailures: 0))
    }

    @Test func aFailedProbe_opensAgain_andAnAbandonedOneLetsTheNextProbe() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDownMilliseconds: 100)
        breaker.failed(breaker.admit(nowMilliseconds: 0), nowMilliseconds: 0)
        breaker.failed(breaker.admit(nowMilliseconds: 150), nowMilliseconds: 150)
        #expect(breaker.state == .open(untilMilliseconds: 250))
        let probe = breaker.admit(nowMilliseconds: 250)
        breaker.abandoned(probe)
        let next = breaker.admit(nowMilliseconds: 251)
        #expect(next == .probe)
    }

    @Test func aLateSuccess_fromBeforeTheBreakerOpened_doesNotCloseIt() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDownMilliseconds: 100)
        let early = breaker.admit(nowMilliseconds: 0)
        breaker.failed(breaker.admit(nowMilliseconds: 0), nowMilliseconds: 0)
        breaker.succeeded(early)
        #expect(breaker.state == .open(untilMilliseconds: 100))
    }
}
