/// A message the standby's shell must send, or a connection it must end.
///
/// The shell MUST send an `.acknowledge` only after everything up to `durable` is on
/// disk (the core only emits it from `localDurable`, a snapshot install, or the start of a
/// stream), and MUST report each one sent with `acknowledgementSent()`: at most one is
/// pending at a time, later durability coalesces into the next.
public enum StandbyAction: Hashable, Sendable {
    /// Tell the primary that every record up to `durable` is durable here.
    case acknowledge(durable: LSN, epoch: Epoch)
    /// The primary broke the rules (`reason`): close the connection and reconnect later.
    case disconnect(reason: String)
}
