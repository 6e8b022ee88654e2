/// Milliseconds since the client started, from `ContinuousClock`: the only clock the client
/// reads. The decisions (`CircuitBreaker`, `CallState`, `Topology`) take its values as
/// arguments.
struct MonotonicClock: Sendable {
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init() {
        start = clock.now
    }

    func nowMilliseconds() -> Int64 {
        let elapsed = clock.now - start
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}
