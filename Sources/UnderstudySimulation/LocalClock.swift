/// A process's monotonic clock: it starts at an arbitrary offset and runs at its own rate,
/// within `maxDriftPartsPerMillion` of true time. A crash does not reset it (it is the
/// machine's clock); a pause does not stop it (SIGSTOP stops the process, not time).
public struct LocalClock: Hashable, Sendable {
    /// Rate error: the clock advances `1 + ratePartsPerMillion / 10^6` ms per true ms.
    public let ratePartsPerMillion: Int64
    public let offsetMilliseconds: Int64

    public init(ratePartsPerMillion: Int64, offsetMilliseconds: Int64) {
        precondition(abs(ratePartsPerMillion) < 500_000, "A clock must move forward")
        self.ratePartsPerMillion = ratePartsPerMillion
        self.offsetMilliseconds = offsetMilliseconds
    }

    /// The reading in milliseconds at `trueMicroseconds` of virtual time.
    public func milliseconds(atTrueMicroseconds trueMicroseconds: Int64) -> Int64 {
        offsetMilliseconds + trueMicroseconds * (1_000_000 + ratePartsPerMillion) / 1_000_000_000
    }
}
