import CoreMetrics

/// Role changes as counters and timers: failovers by reason, switchovers by outcome, and how
/// long each phase of a promotion took (the INFO promotion timeline's two intervals).
struct FailoverMetrics: Sendable {
    /// Why a standby became primary (`understudy_failovers_total{reason}`); a planned
    /// switchover is counted under `understudy_switchovers_total` instead.
    enum Reason: String, CaseIterable, Sendable {
        /// The witness granted a vote after the primary was lost.
        case primaryLost = "primary_lost"
        /// An operator's `PROMOTE FORCE`.
        case forced
    }

    /// A phase of a promotion (`understudy_failover_phase_duration_seconds{phase}`).
    enum Phase: String, CaseIterable, Sendable {
        /// From asking the witness for a vote to acting as primary.
        case vote
        /// From acting as primary to the first acknowledged write.
        case firstWrite = "first_write"
    }

    private let failovers: [Reason: Counter]
    private let switchoversDone: Counter
    private let switchoversFailed: Counter
    private let phases: [Phase: Timer]
    private let lastPromotionTimestamp: Gauge

    init(factory: any MetricsFactory) {
        var failovers: [Reason: Counter] = [:]
        for reason in Reason.allCases {
            failovers[reason] = Counter(label: "understudy_failovers_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.failovers = failovers
        switchoversDone = Counter(label: "understudy_switchovers_total", dimensions: [("outcome", "done")], factory: factory)
        switchoversFailed = Counter(label: "understudy_switchovers_total", dimensions: [("outcome", "failed")], factory: factory)
        var phases: [Phase: Timer] = [:]
        for phase in Phase.allCases {
            phases[phase] = Timer(label: "understudy_failover_phase_duration_seconds", dimensions: [("phase", phase.rawValue)],
                                  preferredDisplayUnit: .seconds, factory: factory)
        }
        self.phases = phases
        lastPromotionTimestamp = Gauge(label: "understudy_last_promotion_timestamp_seconds", factory: factory)
    }

    /// This node was promoted from standby: counted as a failover unless it was a switchover.
    func promoted(reason: Reason?, unixMilliseconds: Int64) {
        if let reason { failovers[reason]?.increment() }
        lastPromotionTimestamp.record(Double(unixMilliseconds) / 1000)
    }

    func phaseEnded(_ phase: Phase, durationMilliseconds: Int64) {
        phases[phase]?.recordMilliseconds(durationMilliseconds)
    }

    /// A switchover this node started (as the primary) ended.
    func switchoverEnded(done: Bool) {
        (done ? switchoversDone : switchoversFailed).increment()
    }
}
