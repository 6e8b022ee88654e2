import Logging
import UnderstudyClient

/// The `increments` mode: `callerCount` callers share one client, caller `i` sending
/// `INCR counter-<i % counterCount>` until a bound is hit; then every counter's final value
/// is read through the same client.
///
/// With automatic idempotency keys every acknowledged `INCR` was applied exactly once and an
/// `indeterminate` one at most once, and no other failure was applied; so where nothing
/// acknowledged is lost, `ok ≤ value ≤ ok + indeterminate` for every counter.
struct IncrementCheck {
    let client: UnderstudyClient
    let counterCount: Int
    let callerCount: Int
    let bounds: LoadBounds
    /// How long the final reads may keep retrying, all counters together.
    let finalReadSeconds: Double
    let logger: Logger

    /// Attempts per counter of the final read, whatever the deadline (a bound on the loop).
    private static let maxFinalReadAttempts = 1_000
    private static let finalReadRetryMilliseconds: Int64 = 50

    static func counterName(_ index: Int) -> String { "counter-\(index)" }

    /// The report line, and whether every counter's final value was read.
    func run() async -> (report: JSONValue, complete: Bool) {
        let tally = await withTaskGroup(of: IncrementTally.self) { group in
            for caller in 0..<callerCount {
                group.addTask { await self.runCaller(counter: caller % self.counterCount) }
            }
            var total = IncrementTally(counterCount: counterCount)
            for await part in group { total.merge(part) }
            return total
        }
        let loadMilliseconds = bounds.elapsedMilliseconds
        let attempts = await client.attemptsSent
        let values = await readFinalValues()
        return (report(tally, values: values, attempts: attempts, loadMilliseconds: loadMilliseconds),
                !values.contains { $0 == nil })
    }

    private func runCaller(counter: Int) async -> IncrementTally {
        var tally = IncrementTally(counterCount: counterCount)
        let name = Self.counterName(counter)
        while bounds.takeTicket() {
            do {
                let reply = try await client.incr(name)
                tally.acknowledged(counter: counter, reply: reply, atMilliseconds: bounds.elapsedMilliseconds)
            } catch {
                tally.failed(counter: counter, error: error)
            }
        }
        return tally
    }

    /// Each counter's value (0 if it was never created), or nil if no read was answered
    /// before the final deadline.
    private func readFinalValues() async -> [Int64?] {
        let deadline = ContinuousClock.now + .milliseconds(Int64(finalReadSeconds * 1_000))
        var values: [Int64?] = []
        for index in 0..<counterCount {
            values.append(await readValue(Self.counterName(index), until: deadline))
        }
        return values
    }

    private func readValue(_ name: String, until deadline: ContinuousClock.Instant) async -> Int64? {
        for attempt in 1...Self.maxFinalReadAttempts {
            do {
                guard let bytes = try await client.get(name) else { return 0 }
                guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else {
                    logger.error("\(name) holds \(String(decoding: bytes, as: UTF8.self)), not an integer")
                    return nil
                }
                return value
            } catch {
                logger.notice("final read of \(name), attempt \(attempt): \(error)")
            }
            guard ContinuousClock.now < deadline else { break }
            do {
                try await Task.sleep(for: .milliseconds(Self.finalReadRetryMilliseconds))
            } catch {
                break  // cancelled: report what was read
            }
        }
        logger.error("no final value for \(name) before the deadline")
        return nil
    }

    private func report(_ tally: IncrementTally, values: [Int64?], attempts: Int, loadMilliseconds: Int64) -> JSONValue {
        var counters: [(String, JSONValue)] = []
        for (index, counter) in tally.counters.enumerated() {
            let distinct = Set(counter.replies).count
            counters.append((Self.counterName(index), .object([
                ("ok", .integer(counter.ok)),
                ("indeterminate", .integer(counter.indeterminate)),
                ("failed", .integer(counter.failed)),
                ("value", values[index].map(JSONValue.integer) ?? .null),
                ("max_reply", counter.replies.max().map(JSONValue.integer) ?? .null),
                ("duplicate_replies", .integer(counter.replies.count - distinct)),
            ])))
        }
        let codes = tally.failureCodes.sorted { $0.key < $1.key }
        let examples = tally.failureExamples.sorted { $0.key < $1.key }
        return .object([
            ("mode", .string("increments")),
            ("counters", .object(counters)),
            ("errors", .object(codes.map { ($0.key, .integer($0.value)) })),
            ("error_examples", .object(examples.map { ($0.key, .string($0.value)) })),
            ("requests", .integer(attempts)),
            ("calls", .integer(bounds.callsStarted)),
            ("load_ms", .integer(loadMilliseconds)),
            ("ok_bucket_ms", .integer(IncrementTally.bucketMilliseconds)),
            ("ok_per_bucket", .array(tally.acknowledgedPerBucket.map(JSONValue.integer))),
        ])
    }
}
