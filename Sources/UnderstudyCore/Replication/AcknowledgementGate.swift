/// The durability-and-lease gate (DESIGN.md invariants 1 and 3): a reply that depends on
/// the log up to some LSN goes out only once `acknowledgedLSN` covers it, and
/// `acknowledgedLSN` advances only to what the node's durability rule made releasable
/// (local `fdatasync`, or the standby's acknowledgement in sync mode) **and only while the
/// node may acknowledge** — on a primary with automatic failover, while it holds its lease.
/// A reply held above it never goes out as a success: on step-down, a sync timeout or a
/// failed log it fails, and `failureFloor` says from where.
///
/// Production (`NodeEngine`) and the simulator both release replies through this one type.
public struct AcknowledgementGate: Hashable, Sendable {
    /// Replies depending on LSNs up to here have been (or may now be) sent.
    public private(set) var acknowledgedLSN: LSN
    /// What durability allows, lease or not.
    public private(set) var releasableLSN: LSN

    public init(acknowledgedLSN: LSN) {
        self.acknowledgedLSN = acknowledgedLSN
        releasableLSN = acknowledgedLSN
    }

    /// Durability allows replies up to `lsn`; `mayAcknowledge` is whether this node may
    /// acknowledge now (a lease held, or no lease needed). Returns the new acknowledged LSN
    /// when it advanced.
    public mutating func releasable(upTo lsn: LSN, mayAcknowledge: Bool) -> LSN? {
        releasableLSN = max(releasableLSN, lsn)
        return mayAcknowledge ? advance() : nil
    }

    /// The node may acknowledge again (its lease came back): what durability allowed
    /// meanwhile goes out. Returns the new acknowledged LSN when it advanced.
    public mutating func mayAcknowledgeAgain() -> LSN? {
        advance()
    }

    /// Replies that depend on LSNs above `requested` are to fail: those at or below the
    /// returned LSN go out as they are, and it is never above what was acknowledged.
    public func failureFloor(requested: LSN) -> LSN {
        min(requested, acknowledgedLSN)
    }

    /// The log was replaced or the node changed role: start again from `lsn` (it may be
    /// lower, after a cut of a divergent suffix).
    public mutating func restart(at lsn: LSN) {
        acknowledgedLSN = lsn
        releasableLSN = lsn
    }

    private mutating func advance() -> LSN? {
        guard releasableLSN > acknowledgedLSN else { return nil }
        acknowledgedLSN = releasableLSN
        return acknowledgedLSN
    }
}
