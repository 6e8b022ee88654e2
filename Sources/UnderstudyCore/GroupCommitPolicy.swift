/// Decides when the next `fdatasync` of the write-ahead log starts (group commit).
///
/// Starting the next sync the moment the previous one returns looks eager but batches
/// badly: the clients it just released send their next writes while the next sync already
/// runs without them, so the clients split into two cohorts that take turns and each sync
/// carries about half of them. Instead the policy waits until as many connections wait for
/// durability again as the last sync released — the cohort has come back — or until
/// `maxDelayNanoseconds` has passed since records began to wait, whichever comes first.
/// A lone client therefore never waits (its cohort is itself), and a stalled or departed
/// client delays the others by at most `maxDelayNanoseconds`.
///
/// Pure: the shell passes the time in and MUST start a sync on `.startNow`, and MUST ask
/// again at the deadline of `.waitUntil` (or sooner, when more records are written).
public struct GroupCommitPolicy: Sendable {
    public enum Decision: Equatable, Sendable {
        case nothingToSync
        case startNow
        case waitUntil(nanoseconds: Int64)
    }

    public let maxDelayNanoseconds: Int64
    /// Connections released by the last sync.
    private var cohortSize = 0
    /// When records began to wait with no sync running; nil when none wait.
    private var waitingSinceNanoseconds: Int64?

    public init(maxDelayNanoseconds: Int64) {
        precondition(maxDelayNanoseconds >= 0, "a delay is not negative")
        self.maxDelayNanoseconds = maxDelayNanoseconds
    }

    /// The sync in flight returned and released `releasedConnections` connections' replies.
    public mutating func syncCompleted(releasedConnections: Int) {
        cohortSize = releasedConnections
        waitingSinceNanoseconds = nil
    }

    /// Whether to start a sync now, given whether written records wait for one and how many
    /// connections hold replies that wait for durability. Called only with no sync running.
    public mutating func decide(
        recordsWaiting: Bool, waitingConnections: Int, nowNanoseconds: Int64
    ) -> Decision {
        guard recordsWaiting else {
            waitingSinceNanoseconds = nil
            return .nothingToSync
        }
        if waitingConnections >= cohortSize { return start() }
        let since = waitingSinceNanoseconds ?? nowNanoseconds
        waitingSinceNanoseconds = since
        let deadline = since + maxDelayNanoseconds
        return nowNanoseconds >= deadline ? start() : .waitUntil(nanoseconds: deadline)
    }

    private mutating func start() -> Decision {
        waitingSinceNanoseconds = nil
        return .startNow
    }
}
