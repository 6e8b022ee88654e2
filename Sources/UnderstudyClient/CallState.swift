import UnderstudyCore

/// One call's progress through its attempts: after each attempt it decides whether the call
/// succeeded, failed, or tries again (after how long, and whether the topology must be
/// probed first). Pure: time comes in as `nowMilliseconds`, randomness as `randomValue`, and
/// the client-wide `RetryBudget` is passed in.
///
/// The outcome it reports is never wrong: once an attempt of a write may have run, every
/// later way of giving up reports `indeterminate`, and such a write is tried again only if
/// it carries an idempotency key (then the server settles it: the stored reply, or a first
/// run). The caller MUST call `start` once, `attemptFinished` after every attempt, and `end`
/// once, whatever happened.
struct CallState: Sendable {
    /// What happened to one attempt.
    enum AttemptOutcome: Sendable, Equatable {
        case classified(ReplyClassification)
        /// Refused on this side before sending (circuit breaker open, bulkhead full).
        case rejected(UnderstudyClientError.Code, message: String)
        /// No node to send to (no primary known).
        case noRoute(reason: String)
    }

    /// What the shell must do next.
    enum Step: Sendable {
        case succeed(Reply)
        case fail(UnderstudyClientError)
        /// Sleep `afterMilliseconds`, probe the seeds first if `probe`, then attempt again.
        case retry(afterMilliseconds: Int64, probe: Bool)
        /// The retry budget has no room yet: sleep `afterMilliseconds`, then ask again with
        /// `budgetWaitEnded`. Waiting adds no load to the nodes; only granted retries do.
        case waitForRetryBudget(afterMilliseconds: Int64, probe: Bool)
    }

    /// How long a call waits between asks for a retry slot.
    static let budgetWaitMilliseconds: Int64 = 20

    let traits: CommandTraits
    let idempotencyKey: String?
    let maxAttempts: Int
    let perAttemptTimeoutMilliseconds: Int64
    let deadlineMilliseconds: Int64
    let backoff: Backoff
    /// A retry that probes the topology first sleeps at most this long (the primary was lost).
    let rediscoveryBackoffCapMilliseconds: Int64
    private(set) var finishedAttempts = 0
    /// Why a write may already have run (the first unknown outcome), or nil.
    private(set) var mayHaveRunBecause: String?
    private var holdsRetry = false
    /// What the retry waiting for the budget is for (for the error, if it never gets a slot).
    private var waitingReason: String?
    private var lastNode: NodeAddress?

    init(traits: CommandTraits, idempotencyKey: String?, maxAttempts: Int, perAttemptTimeoutMilliseconds: Int64,
         deadlineMilliseconds: Int64, backoff: Backoff, rediscoveryBackoffCapMilliseconds: Int64 = .max) {
        self.rediscoveryBackoffCapMilliseconds = rediscoveryBackoffCapMilliseconds
        precondition(maxAttempts > 0, "a call makes at least one attempt")
        self.traits = traits
        self.idempotencyKey = idempotencyKey ?? traits.carriedIdempotencyKey
        self.maxAttempts = maxAttempts
        self.perAttemptTimeoutMilliseconds = perAttemptTimeoutMilliseconds
        self.deadlineMilliseconds = deadlineMilliseconds
        self.backoff = backoff
    }

    /// Whether re-sending after an unknown outcome is safe: a read, or a keyed write.
    var mayResendAfterUnknownOutcome: Bool { traits.isRead || idempotencyKey != nil }

    mutating func start(budget: inout RetryBudget) {
        budget.requestStarted()
    }

    /// The timeout for the next attempt (the per-attempt timeout, cut to the deadline), or
    /// nil when the deadline has passed: then the shell MUST call `deadlinePassed`.
    func attemptTimeoutMilliseconds(nowMilliseconds now: Int64) -> Int64? {
        let remaining = deadlineMilliseconds - now
        return remaining > 0 ? min(perAttemptTimeoutMilliseconds, remaining) : nil
    }

    /// The deadline passed before another attempt could start.
    func deadlinePassed() -> UnderstudyClientError {
        giveUp(.deadlineExceeded, "the call's deadline passed after \(finishedAttempts) attempt(s)")
    }

    /// The caller's task was cancelled while the call waited to retry.
    func cancelled() -> UnderstudyClientError {
        giveUp(.cancelled, "the calling task was cancelled after \(finishedAttempts) attempt(s)")
    }

    mutating func attemptFinished(_ outcome: AttemptOutcome, on node: NodeAddress?, nowMilliseconds now: Int64,
                                  randomValue: UInt64, budget: inout RetryBudget) -> Step {
        // Only attempts that reached a node count against `maxAttempts`: while no primary is
        // known (a failover under way) or its breaker is open, nothing was sent, and the
        // deadline alone bounds the call.
        if case .classified = outcome { finishedAttempts += 1 }
        lastNode = node ?? lastNode
        if holdsRetry {
            budget.retryFinished()
            holdsRetry = false
        }
        switch outcome {
        case .classified(.success(let reply)):
            return .succeed(reply)
        case .classified(.failed(let code, let message)):
            return .fail(error(code, message))
        case .rejected(.circuitOpen, let message):
            // The node this call was routed to is failing: the cluster may have failed over.
            // Probe every seed and try again (the breaker itself keeps the load off that node).
            return retry(reason: message, probe: true, now: now, randomValue: randomValue, budget: &budget)
        case .rejected(let code, let message):
            return .fail(giveUp(code, message))
        case .noRoute(let reason):
            return retry(reason: reason, probe: true, now: now, randomValue: randomValue, budget: &budget)
        case .classified(.notExecuted(let reason, let redirect)):
            return retry(reason: reason, probe: redirect?.primary == nil, now: now, randomValue: randomValue, budget: &budget)
        case .classified(.outcomeUnknown(let reason)):
            if !traits.isRead, mayHaveRunBecause == nil { mayHaveRunBecause = reason }
            guard mayResendAfterUnknownOutcome else {
                return .fail(error(.indeterminate, "the write may or may not have been applied: \(reason)"))
            }
            return retry(reason: reason, probe: true, now: now, randomValue: randomValue, budget: &budget)
        }
    }

    mutating func end(budget: inout RetryBudget) {
        if holdsRetry {
            budget.retryFinished()
            holdsRetry = false
        }
        budget.requestFinished()
    }

    private mutating func retry(reason: String, probe: Bool, now: Int64, randomValue: UInt64,
                                budget: inout RetryBudget) -> Step {
        guard finishedAttempts < maxAttempts else {
            return .fail(giveUp(.retriesExhausted, "\(finishedAttempts) attempt(s) failed; the last: \(reason)"))
        }
        var delay = backoff.delayMilliseconds(retryIndex: max(0, finishedAttempts - 1), randomValue: randomValue)
        if probe { delay = min(delay, rediscoveryBackoffCapMilliseconds) }
        guard now + delay < deadlineMilliseconds else {
            return .fail(giveUp(.deadlineExceeded, "the call's deadline passes before another attempt; the last: \(reason)"))
        }
        guard budget.tryStartRetry() else {
            waitingReason = reason
            return .waitForRetryBudget(afterMilliseconds: max(delay, Self.budgetWaitMilliseconds), probe: probe)
        }
        holdsRetry = true
        return .retry(afterMilliseconds: delay, probe: probe)
    }

    /// A wait for the retry budget ended: a slot now (`.retry` at once), another wait, or —
    /// past the deadline — `retryBudgetExhausted` (`indeterminate` if the write may have run).
    mutating func budgetWaitEnded(probe: Bool, nowMilliseconds now: Int64, budget: inout RetryBudget) -> Step {
        let reason = waitingReason ?? "a retry"
        guard now + Self.budgetWaitMilliseconds < deadlineMilliseconds else {
            return .fail(giveUp(.retryBudgetExhausted,
                                "\(budget.activeRetries) retries were in progress, the most the budget allows, until the deadline; the last: \(reason)"))
        }
        guard budget.tryStartRetry() else { return .waitForRetryBudget(afterMilliseconds: Self.budgetWaitMilliseconds, probe: probe) }
        holdsRetry = true
        waitingReason = nil
        return .retry(afterMilliseconds: 0, probe: probe)
    }

    /// The error for giving up with `code`, unless an earlier attempt may have run the write:
    /// then `indeterminate`, whatever stopped the later ones.
    private func giveUp(_ code: UnderstudyClientError.Code, _ message: String) -> UnderstudyClientError {
        guard let because = mayHaveRunBecause else { return error(code, message) }
        return error(.indeterminate, "the write may or may not have been applied (\(because)), and retrying it did not settle it: \(message)")
    }

    private func error(_ code: UnderstudyClientError.Code, _ message: String) -> UnderstudyClientError {
        UnderstudyClientError(code: code, message: message, node: lastNode, idempotencyKey: idempotencyKey)
    }
}
