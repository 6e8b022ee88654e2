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
        let refused = CallState.AttemptOutcome.classified(.notExecuted(reason: "TRYAGAIN", redirect: nil))
        _ = state.attemptFinished(refused, on: node, nowMilliseconds: 0, randomValue: 0, budget: &budget)
        #expect(code(state.attemptFinished(refused, on: node, nowMilliseconds: 1, randomValue: 0, budget: &budget)) == .retriesExhausted)
    }

    @Test("While no primary is known nothing is sent: such retries do not count against maxAttempts, and sleep at most the rediscovery cap")
    func noRoute_retriesUntilTheDeadline_withinTheRediscoveryCap() {
        var state = CallState(traits: CommandTraits(arguments: [Array("GET".utf8), Array("k".utf8)]), idempotencyKey: nil, maxAttempts: 1,
                              perAttemptTimeoutMilliseconds: 1_000, deadlineMilliseconds: 10_000,
                              backoff: Backoff(baseMilliseconds: 10, capMilliseconds: 1_000), rediscoveryBackoffCapMilliseconds: 25)
        var budget = budget()
        state.start(budget: &budget)
        for now in stride(from: Int64(0), to: 500, by: 50) {
            guard case .retry(let delay, true) = state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: now,
                                                                       randomValue: .max, budget: &budget) else {
                Issue.record("a call with no primary known gave up at \(now) ms"); return
            }
            #expect(delay <= 25)
        }
    }

    @Test func aBackoffPastTheDeadline_isDeadlineExceeded_andTheTimeoutIsCutToTheDeadline() {
        var state = call("SET", "k", "v", deadline: 100), budget = budget()
        #expect(state.attemptTimeoutMilliseconds(nowMilliseconds: 0) == 100)
        #expect(state.attemptTimeoutMilliseconds(nowMilliseconds: 100) == nil)
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 95, randomValue: 9, budget: &budget)) == .deadlineExceeded)
    }

    @Test("A spent retry budget makes the call wait for a slot (no load on the nodes), and gives up at its deadline")
    func aSpentRetryBudget_makesTheCallWait_untilASlotFreesOrItsDeadline() {
        var budget = RetryBudget(percentOfActiveRequests: 20, minimumConcurrentRetries: 1)
        var holder = call("GET", "a"), waiter = call("GET", "k", deadline: 200)
        holder.start(budget: &budget)
        waiter.start(budget: &budget)
        guard case .retry = holder.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 0, randomValue: 0, budget: &budget) else {
            Issue.record("the first retry has a slot"); return
        }
        guard case .waitForRetryBudget(_, let probe) = waiter.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 0,
                                                                              randomValue: 0, budget: &budget) else {
            Issue.record("no slot: the call waits"); return
        }
        guard case .waitForRetryBudget = waiter.budgetWaitEnded(probe: probe, nowMilliseconds: 20, budget: &budget) else {
            Issue.record("still no slot: it waits again"); return
        }
        // The holder's retry attempt finishes (successfully): its slot frees.
        _ = holder.attemptFinished(.classified(.success(.ok)), on: node, nowMilliseconds: 30, randomValue: 0, budget: &budget)
        guard case .retry(0, _) = waiter.budgetWaitEnded(probe: probe, nowMilliseconds: 40, budget: &budget) else {
            Issue.record("a freed slot is granted at once"); return
        }
        var late = call("GET", "k", deadline: 100), full = RetryBudget(percentOfActiveRequests: 0, minimumConcurrentRetries: 0)
        late.start(budget: &full)
        _ = late.attemptFinished(.noRoute(reason: "none"), on: nil, nowMilliseconds: 0, randomValue: 0, budget: &full)
        #expect(code(late.budgetWaitEnded(probe: true, nowMilliseconds: 90, budget: &full)) == .retryBudgetExhausted)
    }

    @Test("An open breaker on the node a call was routed to probes the seeds and tries again: the cluster may have failed over")
    func anOpenBreaker_probesAndRetries() {
        var state = call("GET", "k"), budget = budget()
        state.start(budget: &budget)
        guard case .retry(_, true) = state.attemptFinished(.rejected(.circuitOpen, message: "open"), on: node, nowMilliseconds: 0,
                                                           randomValue: 0, budget: &budget) else {
            Issue.record("an open breaker should probe and retry"); return
        }
        #expect(code(state.attemptFinished(.rejected(.bulkheadFull, message: "full"), on: node, nowMilliseconds: 10, randomValue: 0,
                                           budget: &budget)) == .bulkheadFull, "a full bulkhead still fails fast")
    }

    @Test func serverErrors_areFinal() {
        var state = call("INCR", "k", key: "abc"), budget = budget()
        state.start(budget: &budget)
        #expect(code(state.attemptFinished(.classified(.failed(.serverError, message: "ERR not an integer")), on: node, nowMilliseconds: 0, randomValue: 0, budget: &budget)) == .serverError)
    }
}
