/// Capped exponential backoff with full jitter (AWS Architecture blog, redis-py's
/// `FullJitterBackoff`): before retry `n` (0 for the first retry) sleep a uniformly random
/// `0 ... min(cap, base · 2^n)` milliseconds. Full jitter spreads callers that failed
/// together (all of them, at a failover) so they do not return together.
struct Backoff: Sendable, Equatable {
    var baseMilliseconds: Int64
    var capMilliseconds: Int64

    init(baseMilliseconds: Int64, capMilliseconds: Int64) {
        precondition(baseMilliseconds >= 0 && capMilliseconds >= 0, "backoff durations are not negative")
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
    }

    /// The upper bound of the sleep before retry `retryIndex`: `min(cap, base · 2^n)`,
    /// without overflowing for any `n`.
    func ceilingMilliseconds(retryIndex: Int) -> Int64 {
        precondition(retryIndex >= 0, "retries are counted from 0")
        guard baseMilliseconds > 0 else { return 0 }
        let shift = min(retryIndex, 62)
        let limit = Int64.max >> shift
        guard baseMilliseconds <= limit else { return capMilliseconds }
        return min(capMilliseconds, baseMilliseconds << shift)
    }

    /// The sleep before retry `retryIndex`, drawn with `randomValue` (any 64 random bits,
    /// from the client's injected `RandomSource`).
    func delayMilliseconds(retryIndex: Int, randomValue: UInt64) -> Int64 {
        let ceiling = ceilingMilliseconds(retryIndex: retryIndex)
        return Int64(randomValue % (UInt64(ceiling) + 1))
    }
}
