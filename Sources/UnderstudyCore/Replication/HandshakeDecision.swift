/// The primary's answer to a standby's `REPLICATE`.
///
/// For `.stream` and `.sendSnapshot` the shell MUST write the reply line
/// (`+STREAM <epoch> <from>` / `+SNAPSHOT <epoch> <lsn> <bytes>`), for a snapshot then
/// send the whole snapshot file, and only then call `PrimaryReplication.readyToStream()`,
/// whose actions send the WAL. For the refusals it MUST answer the error and close the
/// connection. For `.stepDown` it MUST stop accepting writes before anything else, then
/// answer `-EPOCH` and close.
public enum HandshakeDecision: Hashable, Sendable {
    /// The standby's log matches ours up to `from - 1`: WAL frames follow from `from`.
    case stream(from: LSN)
    /// We no longer retain the WAL the standby needs (or cannot verify its last record):
    /// ship the snapshot at `lsn`, then WAL frames from `lsn + 1`.
    case sendSnapshot(lsn: LSN)
    /// The standby's log conflicts with ours (`-DIVERGED <reason>`).
    case refuseDiverged(reason: String)
    /// We can serve the standby neither WAL nor a usable snapshot (`-ERR <reason>`); it
    /// retries later, after the next snapshot.
    case refuseUnavailable(reason: String)
    /// The standby has seen a higher epoch than ours: we are no longer primary.
    case stepDown(seenEpoch: Epoch)
}
