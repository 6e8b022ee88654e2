import UnderstudyClient

/// What one caller (or, merged, all of them) saw of its `INCR`s: per counter, how many were
/// acknowledged, indeterminate or failed, and every value an acknowledged one returned.
struct IncrementTally: Sendable {
    struct Counter: Sendable {
        var ok = 0
        var indeterminate = 0
        var failed = 0
        /// The values acknowledged `INCR`s returned (each applied once gives a distinct one).
        var replies: [Int64] = []
    }

    /// Acknowledgements per `bucketMilliseconds` since the run started, so that a test can
    /// tell which came after the fault it injected.
    static let bucketMilliseconds: Int64 = 100

    var counters: [Counter]
    /// Failures other than `indeterminate`, by error code.
    var failureCodes: [String: Int] = [:]
    /// One message per code, the first seen, for diagnostics.
    var failureExamples: [String: String] = [:]
    var acknowledgedPerBucket: [Int] = []

    init(counterCount: Int) {
        counters = Array(repeating: Counter(), count: counterCount)
    }

    mutating func acknowledged(counter: Int, reply: Int64, atMilliseconds elapsed: Int64) {
        counters[counter].ok += 1
        counters[counter].replies.append(reply)
        Self.count(atMilliseconds: elapsed, in: &acknowledgedPerBucket)
    }

    /// One more in the bucket of `elapsed`, growing `buckets` as needed.
    static func count(atMilliseconds elapsed: Int64, in buckets: inout [Int]) {
        let bucket = Int(elapsed / bucketMilliseconds)
        if buckets.count <= bucket {
            buckets += Array(repeating: 0, count: bucket + 1 - buckets.count)
        }
        buckets[bucket] += 1
    }

    /// Adds `other` to `buckets`, bucket by bucket.
    static func add(_ other: [Int], to buckets: inout [Int]) {
        if buckets.count < other.count {
            buckets += Array(repeating: 0, count: other.count - buckets.count)
        }
        for (bucket, count) in other.enumerated() {
            buckets[bucket] += count
        }
    }

    mutating func failed(counter: Int, error: UnderstudyClientError) {
        if error.code == .indeterminate {
            counters[counter].indeterminate += 1
            return
        }
        counters[counter].failed += 1
        let code = error.code.description
        failureCodes[code, default: 0] += 1
        if failureExamples[code] == nil { failureExamples[code] = error.description }
    }

    mutating func merge(_ other: IncrementTally) {
        for index in counters.indices {
            counters[index].ok += other.counters[index].ok
            counters[index].indeterminate += other.counters[index].indeterminate
            counters[index].failed += other.counters[index].failed
            counters[index].replies += other.counters[index].replies
        }
        failureCodes.merge(other.failureCodes, uniquingKeysWith: +)
        failureExamples.merge(other.failureExamples) { first, _ in first }
        Self.add(other.acknowledgedPerBucket, to: &acknowledgedPerBucket)
    }
}
