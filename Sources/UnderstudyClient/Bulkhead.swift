/// A limit on the requests in flight to one node. A node that stops answering would
/// otherwise collect every caller of the application; past the limit a call fails at once
/// with `bulkheadFull`, which says more than a timeout later would.
struct Bulkhead: Sendable, Equatable {
    let maxInFlightRequests: Int
    private(set) var inFlightRequests = 0

    init(maxInFlightRequests: Int) {
        precondition(maxInFlightRequests > 0, "a bulkhead admits at least one request")
        self.maxInFlightRequests = maxInFlightRequests
    }

    /// Admits one more request, or returns false (and admits nothing) at the limit.
    mutating func tryEnter() -> Bool {
        guard inFlightRequests < maxInFlightRequests else { return false }
        inFlightRequests += 1
        return true
    }

    /// An admitted request finished. MUST be called once per `tryEnter()` that returned true.
    mutating func leave() {
        precondition(inFlightRequests > 0, "Internal inconsistency: a request left a bulkhead it never entered")
        inFlightRequests -= 1
    }
}
