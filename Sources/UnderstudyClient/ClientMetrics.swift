import CoreMetrics

/// What one client reports through swift-metrics (Prometheus names, base units): requests by
/// result and their duration, attempts and retries sent, waits for the retry budget, circuit
/// breaker transitions, failovers seen and how long the callers took to recover from each.
struct ClientMetrics: Sendable {
    let factory: any MetricsFactory
    private let attempts: Counter
    private let retries: Counter
    private let budgetWaits: Counter
    private let failoversSeen: Counter
    private let requestDuration: Timer
    private let recovery: Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        attempts = Counter(label: "understudy_client_attempts_total", factory: factory)
        retries = Counter(label: "understudy_client_retries_total", factory: factory)
        budgetWaits = Counter(label: "understudy_client_retry_budget_waits_total", factory: factory)
        failoversSeen = Counter(label: "understudy_client_failovers_seen_total", factory: factory)
        requestDuration = Timer(label: "understudy_client_request_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        recovery = Timer(label: "understudy_client_failover_recovery_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    /// A call ended: `result` is `ok` or an `UnderstudyClientError.Code`.
    func requestFinished(result: String, durationMilliseconds: Int64) {
        Counter(label: "understudy_client_requests_total", dimensions: [("result", result)], factory: factory).increment()
        requestDuration.recordMilliseconds(durationMilliseconds)
    }

    func attemptSent() { attempts.increment() }
    func retryStarted() { retries.increment() }
    func waitedForTheRetryBudget() { budgetWaits.increment() }
    func failoverSeen() { failoversSeen.increment() }

    /// The first call succeeded after a failover: how long callers had been failing.
    func recovered(afterMilliseconds duration: Int64) { recovery.recordMilliseconds(duration) }

    func breakerChanged(node: NodeAddress, to state: String) {
        Counter(label: "understudy_client_circuit_breaker_transitions_total", dimensions: [("node", "\(node)"), ("to", state)],
                factory: factory).increment()
    }
}
