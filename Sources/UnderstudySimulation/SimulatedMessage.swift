import UnderstudyCore

/// The primary's answer to a standby's handshake, as the sim's replication link carries it.
enum HandshakeAnswer {
    case stream(epoch: Epoch, from: LSN, clusterID: String?)
    /// Refused as diverged; the primary's history and last LSN come along so the standby
    /// can find where to cut.
    case diverged(reason: String, primaryHistory: EpochHistory, primaryLastLSN: LSN)
    case refused(String)
}

enum ClientAnswer {
    case acknowledged(lsn: LSN)
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
    case handshakeAnswer(HandshakeAnswer)
    case records(epoch: Epoch, [SimulatedRecord])
    case heartbeat(epoch: Epoch, lastWrittenLSN: LSN, sentAtMilliseconds: Int64)
    case acknowledge(durable: LSN?, epoch: Epoch, echoedSentAtMilliseconds: Int64?)
    case closed
    // Clients (datagrams).
    case clientWrite(operation: UInt64, value: UInt64)
    case clientAnswer(operation: UInt64, ClientAnswer)
}
