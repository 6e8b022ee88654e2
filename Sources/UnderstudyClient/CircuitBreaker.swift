/// A circuit breaker for one node: closed → open after `failureThreshold` consecutive
/// failures → half-open (one probe request) after `coolDownMilliseconds` → closed if the
/// probe succeeds, open again if it fails.
///
/// A failure is a transport failure (connect refused, connection dropped, no reply in time):
/// a node that answers, even with an error, is alive. Counting consecutive failures rather
/// than a failure rate (resilience4j, Polly) needs no window and trips within the handful of
/// requests a failover costs; go-redis#868's complaint (a connection-level breaker misses a
/// stuck-but-accepting node) is answered by counting timeouts too. Pure: time comes in as
/// `nowMilliseconds` (monotonic).
struct CircuitBreaker: Sendable, Equatable {
    enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(untilMilliseconds: Int64)
        case halfOpen(probeInFlight: Bool)
    }

    /// What a request may do now. The caller MUST report the request's result with the same
    /// admission (`succeeded`, `failed` or `abandoned`).
    enum Admission: Sendable, Equatable {
        case allowed
        /// The one trial request of the half-open state.
        case probe
        /// Do not send; the breaker may let a probe through in `retryAfterMilliseconds`.
        case rejected(retryAfterMilliseconds: Int64)
    }

    let failureThreshold: Int
    let coolDownMilliseconds: Int64
    private(set) var state: State = .closed(consecutiveFailures: 0)

    /// The state's name for metrics: `closed`, `open` or `half_open`.
    var stateName: String {
        switch state {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half_open"
        }
    }

    init(failureThreshold: Int, coolDownMilliseconds: Int64) {
        precondition(failureThreshold > 0 && coolDownMilliseconds >= 0, "a breaker trips after at least one failure")
        self.failureThreshold = failureThreshold
        self.coolDownMilliseconds = coolDownMilliseconds
    }

    mutating func admit(nowMilliseconds now: Int64) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .rejected(retryAfterMilliseconds: until - now) }
            state = .halfOpen(probeInFlight: true)
            return .probe
        case .halfOpen(probeInFlight: false):
            state = .halfOpen(probeInFlight: true)
            return .probe
        case .halfOpen(probeInFlight: true):
            return .rejected(retryAfterMilliseconds: 0)
        }
    }

    mutating func succeeded(_ admission: Admission) {
        switch (state, admission) {
        case (.closed, .allowed), (.halfOpen, .probe):
            state = .closed(consecutiveFailures: 0)
        default:
            break  // a request admitted before the breaker opened says nothing of the node now
        }
    }

    mutating func failed(_ admission: Admission, nowMilliseconds now: Int64) {
        switch (state, admission) {
        case (.closed(let failures), .allowed):
            state = failures + 1 >= failureThreshold
                ? .open(untilMilliseconds: now + coolDownMilliseconds)
                : .closed(consecutiveFailures: failures + 1)
        case (.halfOpen, .probe):
            state = .open(untilMilliseconds: now + coolDownMilliseconds)
        default:
            break
        }
    }

    /// The request ended without saying anything of the node (cancelled, refused locally):
    /// a probe's slot is given back so that the next request can probe.
    mutating func abandoned(_ admission: Admission) {
        if case .halfOpen(probeInFlight: true) = state, admission == .probe {
            state = .halfOpen(probeInFlight: false)
        }
    }
}
