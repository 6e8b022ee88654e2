import Testing
import UnderstudyCore
@testable import UnderstudyClient

@Suite struct CallStateTests {
    let node = NodeAddress(host: "10.0.0.1", port: 7001)

    private func call(_ words: String..., key: String? = nil, maxAttempts: Int = 5, deadline: Int64 = 10_000) -> CallState {
        CallState(traits: CommandTraits(arguments: words.map { Array($0.utf8) }), idempotencyKey: key, maxAttempts: maxAttempts,
                  perAttemptTimeoutMilliseconds: 1_000, deadlineMilliseconds: deadline,
                  backoff: Backoff(baseMilliseconds: 10, capMilliseconds: 1_000))
    }

    private func budget() -> RetryBudget { RetryBudget(percentOfActiveRequests: 20, minimumConcurrentRetries: 3) }

    private func code(_ step: CallState.Step) -> UnderstudyClientError.Code? {
        if case .fail(let error) = step { return error.code }
        return nil
    }

    @Test func anUnkeyedWrite_withAnUnknownOutcome_isIndeterminate_andNotResent() {
        var state = call("INCR", "k"), budget = budget()
        state.start(budget: &budget)
        let step = state.attemptFinished(.classified(.outcomeUnknown(reason: "connection closed")), on: node,
                                         nowMilliseconds: 0, randomValue: 0, budget: &budget)
        #expect(code(step) == .indeterminate)
        state.end(budget: &budget)
        #expect(budget.activeRequests == 0 && budget.activeRetries == 0)
    }

    @Test func aKeyedWrite_withAnUnknownOutcome_isResent_andStaysIndeterminateIfNeverSettled() {
        var state = call("INCR", "k", key: "abc", maxAttempts: 2), budget = budget()
        state.start(budget: &budget)
        let first = state.attemptFinished(.classified(.outcomeUnknown(reason: "timeout")), on: node, nowMilliseconds: 0, randomValue: 7, budget: &budget)
        guard case .retry(afterMilliseconds: 7, probe: true) = first else { Issue.record("expected a retry: \(first)"); return }
        let second = state.attemptFinished(.classified(.notExecuted(reason: "TRYAGAIN", redirect: nil)), on: node, nowMilliseconds: 20, randomValue: 0, budget: &budget)
        guard case .fail(let error) = second else { Issue.record("expected a failure"); return }
        #expect(error.code == .indeterminate && error.idempotencyKey == "abc")
        state.end(budget: &budget)
    }

    @Test func aRead_withAnUnknownOutcome_isResent_andItsRepliesAreReturned() {
        var state = call("GET", "k"), budget = budget()
        state.start(budget: &budget)
        guard case .retry = state.attemptFinished(.classified(.outcomeUnknown(reason: "timeout")), on: node, nowMilliseconds: 0, randomValue: 0, budget: &budget) else {
            Issue.record("a read is retried"); return
        }
        guard case .succeed(.bulk(nil)) = state.attemptFinished(.classified(.success(.bulk(nil))), on: node, nowMilliseconds: 5, randomValue: 0, budget: &budget) else {
            Issue.record("the read's reply is returned"); return
        }
        state.end(budget: &budget)
        #expect(budget.activeRetries == 0)
    }

    @Test func aRedirectNamingThePrimary_isFollowedWithoutAProbe() {
        var state = call("SET", "k", "v"), budget = budget()
        state.start(budget: &budget)
        let step = state.attemptFinished(.classified(.notExecuted(reason: "READONLY", redirect: .init(primary: node, epoch: 2))), on: node,
                                         nowMilliseconds: 0, randomValue: 0, budget: &budget)
        guard case .retry(_, probe: false) = step else { Issue.record("expected a retry without probe: \(step)"); return }
    }

    @Test func notExecuted_untilMaxAttempts_isRetriesExhausted() {
        var state = call("SET", "k", "v", maxAttempts: 2), budget = budget()
        state.start(budget: &budget)
        _ = state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 0, randomValue: 0, budget: &budget)
        #expect(code(state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 1, randomValue: 0, budget: &budget)) == .retriesExhausted)
    }

    @Test func aBackoffPastTheDeadline_isDeadlineExceeded_andTheTimeoutIsCutToTheDeadline() {
        var state = call("SET", "k", "v", deadline: 100), budget = budget()
        #expect(state.attemptTimeoutMilliseconds(nowMilliseconds: 0) == 100)
        #expect(state.attemptTimeoutMilliseconds(nowMilliseconds: 100) == nil)
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 95, randomValue: 9, budget: &budget)) == .deadlineExceeded)
    }

    @Test func aSpentRetryBudget_failsTheCall() {
        var budget = RetryBudget(percentOfActiveRequests: 20, minimumConcurrentRetries: 0)
        var state = call("GET", "k")
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 0, randomValue: 0, budget: &budget)) == .retryBudgetExhausted)
    }

    @Test func anOpenBreaker_failsFast() {
        var state = call("GET", "k"), budget = budget()
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.rejected(.circuitOpen, message: "open"), on: node, nowMilliseconds: 0, randomValue: 0, budget: &budget)) == .circuitOpen)
    }

    @Test func serverErrors_areFinal() {
        var state = call("INCR", "k", key: "abc"), budget = budget()
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.classified(.failed(.serverError, message: "ERR not an integer")), on: node, nowMilliseconds: 0, randomValue: 0, budget: &budget)) == .serverError)
    }
}
