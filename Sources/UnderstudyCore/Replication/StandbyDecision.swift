/// One step of what the standby's shell does with a received batch of WAL frames; a batch
/// yields a list of steps, to perform in order.
///
/// Ordering contract:
/// - `.adoptEpoch` MUST be persisted (the new epoch history, written to a temporary file,
///   fsynced, renamed, directory fsynced) before any record of the following `.append`
///   is written.
/// - `.append(range:)` MUST append exactly the frames at those batch indices to the WAL,
///   byte for byte, in order; their effects MAY be applied to the keyspace once written.
///   The shell reports durability with `localDurable`.
/// - `.refuse` comes alone: the shell MUST append nothing of the batch, log the reason,
///   and close the connection (and reconnect with a new handshake).
/// Duplicates (frames the standby already holds) are simply absent from the ranges.
public enum StandbyDecision: Hashable, Sendable {
    /// Append the frames at these indices of the batch.
    case append(range: Range<Int>)
    /// The records that follow are from `epoch`, which begins at `at`.
    case adoptEpoch(Epoch, at: LSN)
    /// The batch (or the stream) breaks the rules: see `reason`.
    case refuse(reason: String)
}
