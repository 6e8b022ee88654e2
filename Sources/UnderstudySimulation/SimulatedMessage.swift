import UnderstudyCore

enum ClientAnswer {
    case acknowledged(lsn: LSN)
    /// A read's answer: the register's value (the last record's, 0 for none) at `lsn`, and
    /// whether the node was a primary (a client reads only from the primary, as with ROLE).
    case read(lsn: LSN, value: UInt64, fromPrimary: Bool)
    /// READONLY: this node is not a writable primary.
    case redirect
    case failed(String)
    /// The process is down: the connection was refused.
    case unavailable
}

/// Everything a process sends another.
enum SimulatedMessage {
    // Witness RPC (a datagram each way: it may be lost, delayed, duplicated or reordered).
    case witnessRequest(id: UInt64, WitnessRequest)
    case witnessReply(id: UInt64, WitnessReply)
    case witnessRefused(id: UInt64)
    // The replication link (an ordered connection).
    case handshake(StandbyHandshake)
    /// The core's answer, as production's RESP line carries it.
    case handshakeAnswer(HandshakeAnswer)
    case records([SimulatedRecord])
    /// The primary's snapshot, after a `+SNAPSHOT` answer (`--snapshots`): the state as of
    /// its last LSN, which the sim carries as the records up to it.
    case snapshot([SimulatedRecord])
    /// `leaseMilliseconds`: the lease the primary counts from this heartbeat (the standby's
    /// promise lasts at least that long).
    case heartbeat(epoch: Epoch, lastWrittenLSN: LSN, sentAtMilliseconds: Int64, leaseMilliseconds: Int64?)
    /// Switchover: the primary hands the standby the next epoch, then closes the link.
    case handover(newEpoch: Epoch)
    /// The standby's acknowledgement of durable records, or its echo of a heartbeat (the promise).
    case acknowledge(durable: LSN?, epoch: Epoch, echoedSentAtMilliseconds: Int64?)
    case closed
    // FENCE between the data nodes (`--fence`; datagrams: lost, duplicated, delayed).
    case fence(epoch: Epoch, primary: String, clusterID: String, forcedFrom: Epoch? = nil)
    /// The peer refused the FENCE because it is primary of `epoch`, not older.
    case fenceRefusedNotNewer(epoch: Epoch)
    // Clients (datagrams).
    case clientWrite(operation: UInt64, value: UInt64)
    /// `--reads`: read the register (the value of the log's last record).
    case clientRead(operation: UInt64)
    case clientAnswer(operation: UInt64, ClientAnswer)
}
