import Synchronization

/// The two bounds of a run, shared by every caller: a deadline and a number of calls.
/// A caller MUST take a ticket before each call and stop at the first refusal.
final class LoadBounds: Sendable {
    let clock = ContinuousClock()
    let startedAt: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant
    let maxCalls: Int
    private let callsTaken = Atomic<Int>(0)

    init(seconds: Double, maxCalls: Int) {
        startedAt = clock.now
        deadline = startedAt + .milliseconds(Int64(seconds * 1_000))
        self.maxCalls = maxCalls
    }

    /// True if one more call may start now (and counts it); false once either bound is hit.
    func takeTicket() -> Bool {
        guard clock.now < deadline else { return false }
        let (_, taken) = callsTaken.wrappingAdd(1, ordering: .relaxed)
        return taken <= maxCalls
    }

    /// Calls started (tickets granted).
    var callsStarted: Int { min(callsTaken.load(ordering: .relaxed), maxCalls) }

    var elapsedMilliseconds: Int64 { Self.milliseconds(clock.now - startedAt) }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
