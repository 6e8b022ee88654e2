/// The timing and eligibility knobs of automatic failover (`--heartbeat-interval`,
/// `--failure-timeout`, `--lease`, `--max-lag-on-failover`), all in milliseconds of the
/// reader's own monotonic clock.
///
/// Safety rests on one inequality: a voter promises for `lease + driftMargin` from when it
/// *received* a heartbeat; the primary counts its lease for `lease` from when it *sent*
/// it. As long as no clock runs more than `driftMargin / lease` fast or slow relative to
/// another over one lease, the voter's promise outlasts the primary's lease.
public struct CoordinationSettings: Hashable, Sendable {
    public var mode: ReplicationMode
    public var heartbeatIntervalMilliseconds: Int64
    public var failureTimeoutMilliseconds: Int64
    public var leaseMilliseconds: Int64
    /// Added to every promise a voter makes, for clock drift.
    public var driftMarginMilliseconds: Int64
    /// Async mode: the most bytes a standby may lag (at the primary's last report) and
    /// still be promoted automatically.
    public var maxLagOnFailoverBytes: Int64

    public init(mode: ReplicationMode, heartbeatIntervalMilliseconds: Int64 = 100, failureTimeoutMilliseconds: Int64 = 1_000,
                leaseMilliseconds: Int64 = 500, driftMarginMilliseconds: Int64? = nil,
                maxLagOnFailoverBytes: Int64 = 1 << 20) {
        self.mode = mode
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.failureTimeoutMilliseconds = failureTimeoutMilliseconds
        self.leaseMilliseconds = leaseMilliseconds
        self.driftMarginMilliseconds = driftMarginMilliseconds ?? Self.defaultDriftMargin(leaseMilliseconds: leaseMilliseconds)
        self.maxLagOnFailoverBytes = maxLagOnFailoverBytes
    }

    /// A fifth of the lease, at least 20 ms: covers clocks that differ in rate by up to 20%.
    public static func defaultDriftMargin(leaseMilliseconds: Int64) -> Int64 {
        max(20, leaseMilliseconds / 5)
    }

    /// How long a voter's promise lasts after it acknowledges a heartbeat.
    public var promiseMilliseconds: Int64 { leaseMilliseconds + driftMarginMilliseconds }

    /// Why these settings cannot work, or nil; each message names the flags and the reason.
    /// The lease must outlast a heartbeat interval (or the primary loses it between
    /// heartbeats), and it must be shorter than the failure timeout: a standby that gives up
    /// on the primary while the primary's lease still runs would be asking to take over from
    /// a primary still entitled to acknowledge writes.
    public var problem: String? {
        guard heartbeatIntervalMilliseconds >= 1 else { return "--heartbeat-interval must be positive" }
        guard leaseMilliseconds > heartbeatIntervalMilliseconds else {
            return "--lease (\(leaseMilliseconds) ms) must be longer than --heartbeat-interval (\(heartbeatIntervalMilliseconds) ms): "
                + "the primary renews its lease once per heartbeat, so a shorter lease runs out between heartbeats and the primary stops taking writes"
        }
        guard leaseMilliseconds < failureTimeoutMilliseconds else {
            return "--lease (\(leaseMilliseconds) ms) must be shorter than --failure-timeout (\(failureTimeoutMilliseconds) ms): "
                + "the old primary's lease must run out before the standby may take over, or two primaries could acknowledge writes at once"
        }
        guard maxLagOnFailoverBytes >= 0 else { return "--max-lag-on-failover must not be negative" }
        return nil
    }
}
