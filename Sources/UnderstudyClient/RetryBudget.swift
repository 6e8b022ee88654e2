/// Envoy's retry budget, shared by every caller of one client: retries in progress may be at
/// most `percentOfActiveRequests` % of the requests in progress, but always at least
/// `minimumConcurrentRetries`. When a node is down every caller fails at once; without a
/// budget each would multiply its load by its retry count exactly when the cluster can take
/// it least (a retry storm). A ratio of what is in flight needs no clock and no tuning per
/// load, which a token bucket (Finagle, gRPC) does.
///
/// A retry is "in progress" from the moment it is granted (its backoff sleep included) until
/// its attempt finishes. Callers MUST pair `requestStarted`/`requestFinished` and
/// `tryStartRetry` (when it returned true)/`retryFinished`.
struct RetryBudget: Sendable, Equatable {
    let percentOfActiveRequests: Int
    let minimumConcurrentRetries: Int
    private(set) var activeRequests = 0
    private(set) var activeRetries = 0

    init(percentOfActiveRequests: Int, minimumConcurrentRetries: Int) {
        precondition(percentOfActiveRequests >= 0 && minimumConcurrentRetries >= 0, "retry budget limits are not negative")
        self.percentOfActiveRequests = percentOfActiveRequests
        self.minimumConcurrentRetries = minimumConcurrentRetries
    }

    /// How many retries may be in progress now.
    var allowedConcurrentRetries: Int {
        max(minimumConcurrentRetries, activeRequests * percentOfActiveRequests / 100)
    }

    mutating func requestStarted() {
        activeRequests += 1
    }

    mutating func requestFinished() {
        precondition(activeRequests > 0, "Internal inconsistency: a request finished that never started")
        activeRequests -= 1
    }

    /// Grants a retry if the budget has room. A `false` MUST NOT be followed by a retry.
    mutating func tryStartRetry() -> Bool {
        guard activeRetries < allowedConcurrentRetries else { return false }
        activeRetries += 1
        return true
    }

    mutating func retryFinished() {
        precondition(activeRetries > 0, "Internal inconsistency: a retry finished that was never granted")
        activeRetries -= 1
    }
}
