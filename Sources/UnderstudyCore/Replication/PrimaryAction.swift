/// Something the primary's shell must do, returned by `PrimaryReplication`'s events.
///
/// Ordering contract:
/// - The shell MUST perform the actions of one event in the order given, before it feeds
///   the state machine the next event.
/// - `.stepDown` MUST take effect (no further write accepted, no further reply of a
///   waiting write released) before any later action or any other work; the shell MUST
///   persist the seen epoch (fsync) before it acts in that epoch.
/// - `.release(upTo:)` MUST release held replies for LSNs `<= upTo` only, each
///   connection's replies in request order. The core never releases past the local
///   durable LSN, nor (in sync mode) past the standby's acknowledged durable LSN.
/// - `.failWaiting` MUST answer `-<message>` to every held reply whose LSN is in
///   `after+1 ... through`, and only those; later replies keep waiting.
/// - `.sendRecords` MUST send whole WAL frames from `from` on, already written to the WAL
///   files, byte for byte, totalling at most `maxBytes` — except that the first frame is
///   sent whatever its size, so that a record larger than the window still moves — and
///   MUST then report what it sent with `recordsSent(upTo:bytes:)`. The core asks for one
///   batch at a time.
/// - `.disconnectStandby` MUST close the replication connection, then report
///   `standbyDetached`.
public enum PrimaryAction: Hashable, Sendable {
    /// Release the replies of every write with LSN `<= upTo` (the new `commitLSN`).
    case release(upTo: LSN)
    /// Fail the replies waiting on LSNs `after+1 ... through` with `message`.
    case failWaiting(after: LSN, through: LSN, message: String)
    /// Stop acting as primary: `epoch` is higher than ours.
    case stepDown(Epoch)
    /// Read WAL frames from `from` and send at most `maxBytes` of them to the standby.
    case sendRecords(from: LSN, maxBytes: Int)
    /// Answer the pending `WAIT` of `connection` with `replicas`.
    case completeWait(connection: UInt64, replicas: Int)
    /// The standby broke the protocol (`reason`): close its connection.
    case disconnectStandby(reason: String)
}
