/// The one error a write gets when its outcome is unknown: it ran (its record is in this
/// node's log) but could not be acknowledged — the node stepped down, lost its lease or its
/// log, or shut down first. It may survive, or be cut off by a failover.
///
/// Redis clients retry `READONLY`, `TRYAGAIN`, `LOADING`, `BUSY` (and cluster redirects)
/// by themselves, which is right only for a command that certainly did not run; retrying
/// this one could apply a write twice. `UNCERTAIN` is a prefix no Redis client retries:
/// the application decides (with an idempotency key a retry settles it). Documented in
/// docs/protocol.md and docs/failover.md.
public enum UncertainOutcome {
    public static let prefix = "UNCERTAIN"

    /// `UNCERTAIN <reason>; the write may or may not have been applied`.
    public static func message(_ reason: String) -> String {
        "\(prefix) \(reason); the write may or may not have been applied"
    }
}
