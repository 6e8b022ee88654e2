public import UnderstudyCore

/// One message on a replication connection, after the `REPLICATE` handshake switched it
/// from RESP to binary frames.
///
/// On the wire (little-endian): `u8 type | u32 payload bytes | u64 epoch | payload`.
/// Every frame carries the sender's epoch, so a receiver can fence a stale peer on any frame.
public enum ReplicationFrame: Equatable, Sendable {
    /// Primary → standby: WAL frames exactly as on disk (header, payload, CRC), possibly
    /// LZ4-compressed as one block; `rawBytes` is their uncompressed size.
    case records(epoch: Epoch, compressed: Bool, rawBytes: Int, payload: [UInt8])
    /// Primary → standby: bytes of a snapshot file at `offset`.
    case snapshotChunk(epoch: Epoch, offset: UInt64, bytes: [UInt8])
    /// Primary → standby: the snapshot file is complete: its size and CRC32C.
    case snapshotEnd(epoch: Epoch, totalBytes: UInt64, checksum: UInt32)
    /// Primary → standby, every heartbeat interval: what the primary has written and when
    /// (its wall clock, for lag), and `sentAtMilliseconds` on its monotonic clock, which a
    /// standby that makes its lease promise echoes back (`heartbeatEcho`).
    /// `leaseMilliseconds` is the lease the primary counts from this heartbeat: a standby
    /// promises for the longer of it and its own (0 from a peer too old to send it).
    case heartbeat(epoch: Epoch, lastWrittenLSN: LSN, primaryTimeMilliseconds: Int64, sentAtMilliseconds: Int64,
                   leaseMilliseconds: Int64 = 0)
    /// Standby → primary: what the standby has made durable and applied.
    case acknowledge(epoch: Epoch, durableLSN: LSN, appliedLSN: LSN)
    /// Standby → primary: the standby acknowledges the heartbeat sent at
    /// `sentAtMilliseconds` and promises not to vote for a higher epoch for a lease.
    case heartbeatEcho(epoch: Epoch, sentAtMilliseconds: Int64)
    /// Primary → standby, planned switchover: the witness has recorded the standby as the
    /// primary of `newEpoch`; the sender follows it from now on.
    case handover(epoch: Epoch, newEpoch: Epoch)
    /// Either side, before it closes the connection: why.
    case error(epoch: Epoch, message: String)

    public var epoch: Epoch {
        switch self {
        case .records(let epoch, _, _, _), .snapshotChunk(let epoch, _, _), .snapshotEnd(let epoch, _, _),
             .heartbeat(let epoch, _, _, _, _), .acknowledge(let epoch, _, _), .heartbeatEcho(let epoch, _), .handover(let epoch, _),
             .error(let epoch, _):
            return epoch
        }
    }

    /// Frame type bytes. New types get new numbers; a receiver refuses types it does not know.
    enum Kind: UInt8 {
        case records = 1
        case snapshotChunk = 2
        case snapshotEnd = 3
        case heartbeat = 4
        case acknowledge = 16
        case heartbeatEcho = 18
        case handover = 19
        case error = 17
    }

    /// Bytes before the payload: type, payload length, epoch.
    public static let headerBytes = 13
}
