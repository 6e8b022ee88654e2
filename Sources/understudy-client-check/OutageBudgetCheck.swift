import UnderstudyClient

/// The `outage-budget` mode: `callerCount` callers each start one `GET` per
/// `periodMilliseconds` (the next one at once if a call took longer) until a bound is hit,
/// while the test stops the nodes. It reports the calls asked for and the attempts the client
/// sent, whose ratio the retry budget bounds.
struct OutageBudgetCheck {
    struct Tally: Sendable {
        var calls = 0
        var ok = 0
        var failureCodes: [String: Int] = [:]
        /// Answered calls per `IncrementTally.bucketMilliseconds` since the run started.
        var okPerBucket: [Int] = []
    }

    let client: UnderstudyClient
    let callerCount: Int
    let bounds: LoadBounds
    let periodMilliseconds: Int64

    static let key = "understudy-client-check:outage"
    private static let sampleIntervalMilliseconds: Int64 = 250
    /// A bound on the sampler's loop whatever the run's length (about 40 minutes).
    private static let maxSamples = 10_000

    private enum Part: Sendable {
        case caller(Tally)
        case samples([JSONValue])
    }

    func run() async -> JSONValue {
        var total = Tally()
        var samples: [JSONValue] = []
        await withTaskGroup(of: Part.self) { group in
            group.addTask { .samples(await self.sample()) }
            for _ in 0..<callerCount {
                group.addTask { .caller(await self.runCaller()) }
            }
            var callersLeft = callerCount
            for await part in group {
                switch part {
                case .caller(let tally):
                    total.calls += tally.calls
                    total.ok += tally.ok
                    total.failureCodes.merge(tally.failureCodes, uniquingKeysWith: +)
                    IncrementTally.add(tally.okPerBucket, to: &total.okPerBucket)
                    callersLeft -= 1
                    if callersLeft == 0 { group.cancelAll() }  // stops the sampler
                case .samples(let taken):
                    samples = taken
                }
            }
        }
        return .object([
            ("mode", .string("outage-budget")),
            ("calls", .integer(total.calls)),
            ("attempts", .integer(await client.attemptsSent)),
            ("ok", .integer(total.ok)),
            ("errors", .object(total.failureCodes.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("ok_bucket_ms", .integer(IncrementTally.bucketMilliseconds)),
            ("ok_per_bucket", .array(total.okPerBucket.map(JSONValue.integer))),
            ("samples", .array(samples)),
        ])
    }

    private func runCaller() async -> Tally {
        var tally = Tally()
        let clock = bounds.clock
        var next = clock.now
        while bounds.takeTicket() {
            tally.calls += 1
            do {
                _ = try await client.get(Self.key)
                tally.ok += 1
                IncrementTally.count(atMilliseconds: bounds.elapsedMilliseconds, in: &tally.okPerBucket)
            } catch {
                tally.failureCodes[error.code.description, default: 0] += 1
            }
            next = max(next + .milliseconds(periodMilliseconds), clock.now)
            do {
                try await clock.sleep(until: next)
            } catch {
                break  // cancelled
            }
        }
        return tally
    }

    /// `[elapsed ms, calls started, attempts sent]` every `sampleIntervalMilliseconds` until
    /// cancelled, and once more at the end.
    private func sample() async -> [JSONValue] {
        var samples: [JSONValue] = []
        for _ in 0..<Self.maxSamples {
            samples.append(await takeSample())
            do {
                try await Task.sleep(for: .milliseconds(Self.sampleIntervalMilliseconds))
            } catch {
                break  // the callers are done
            }
        }
        samples.append(await takeSample())
        return samples
    }

    private func takeSample() async -> JSONValue {
        .array([.integer(bounds.elapsedMilliseconds), .integer(bounds.callsStarted), .integer(await client.attemptsSent)])
    }
}
