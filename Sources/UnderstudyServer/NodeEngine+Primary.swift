import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// The primary's side of replication: the standby's handshake and link, records and
/// snapshots read from the files and sent. Every decision is `DataNode`'s.
extension NodeEngine {
    /// The RESP text of a refusal: every one says the command did not run.
    func text(of refusal: CommandRefusal) -> String {
        switch refusal {
        case .logFailed(let reason):
            return "ERR write refused: \(reason)"
        case .logFailedRead(let reason):
            return "ERR read refused: the write-ahead log failed (\(reason)); this node serves nothing until restarted"
        case .diskFull(let reason):
            return DataNode.diskFullText(reason)
        case .roleUndecided:
            return "TRYAGAIN this node has not yet heard from the witness at \(replication.configuration?.witness.map { "\($0)" } ?? "?") which role it has"
        case .leaseExpired(let epoch):
            return "TRYAGAIN this primary's lease has expired (epoch \(epoch)): neither the standby nor the witness has answered its heartbeats; the cluster may be failing over"
        case .standby(let knownEpoch):
            return "READONLY You can't write against a read only replica. primary=\(replication.configuration.map { "\($0.peer)" } ?? "?") epoch=\(knownEpoch)"
        case .superseded(let epoch, let newer):
            return "READONLY this node is no longer the primary: epoch \(newer) superseded epoch \(epoch)"
        case .limit(let message):
            return message
        }
    }

    /// Reads whole WAL frames from the files and sends them as one records frame.
    func sendRecords(from: LSN, maxBytes: Int) {
        guard let link = replication.standbyChannel, let reader = replication.standbyReader else { return }
        let batch: WALFrameBatch
        do {
            if reader.nextLSN != from { try reader.seek(to: from) }
            guard let read = try reader.readFrames(upTo: wal.lastWrittenLSN, maxBytes: maxBytes) else { return }
            batch = read
        } catch {
            logger.error("cannot read the WAL for the standby; it will reconnect", metadata: ["error": "\(error)"])
            link.channel.close(promise: nil)
            return
        }
        var buffer = link.channel.allocator.buffer(capacity: batch.bytes.count + 32)
        buffer.writeReplicationFrame(Self.recordsFrame(epoch: epoch, frames: batch.bytes))
        link.channel.writeAndFlush(buffer, promise: nil)
        perform(node.recordsSent(upTo: batch.lastLSN, bytes: batch.bytes.count, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// A records frame, LZ4-compressed when that saves at least an eighth. Small batches
    /// (the steady state of a standby that keeps up) go as they are: compressing them costs
    /// the primary more CPU than the bytes are worth; catch-up batches are large.
    static func recordsFrame(epoch: Epoch, frames: [UInt8]) -> ReplicationFrame {
        if frames.count >= minimumCompressedBatchBytes {
            let compressed = frames.withUnsafeBytes { LZ4Block.compress($0) }
            if compressed.count <= frames.count - frames.count / 8 {
                return .records(epoch: epoch, compressed: true, rawBytes: frames.count, payload: compressed)
            }
        }
        return .records(epoch: epoch, compressed: false, rawBytes: frames.count, payload: frames)
    }

    static let minimumCompressedBatchBytes = 16 << 10

    // MARK: WAIT and DURABILITY

    /// WAIT: the reply now, or nil when `handler` must wait for `completeWait`.
    func waitForReplicas(_ handler: ClientHandler, lsn: LSN, numberOfReplicas: Int, timeoutMilliseconds: Int64) -> Reply? {
        let deadline = timeoutMilliseconds == 0 ? nil : WallClock.monotonicMilliseconds() + timeoutMilliseconds
        let connection = UInt64(handler.session.id)
        switch node.waitRequested(connection: connection, lsn: lsn, numberOfReplicas: numberOfReplicas, deadlineMilliseconds: deadline) {
        case .satisfied(let replicas): return .integer(Int64(replicas))
        case .refused(let message): return .error(message)
        case .pending:
            replication.waitingClients[connection] = handler
            return nil
        }
    }

    /// How durable the write at `lsn` is now: `replica` (on the standby's disk too), `local`
    /// (on this node's disk), `pending` (not yet durable), or `none` (no write yet).
    func durability(of lsn: LSN) -> (level: String, lsn: LSN) {
        node.durability(of: lsn)
    }

    func waitingClientDisconnected(_ handler: ClientHandler) {
        let connection = UInt64(handler.session.id)
        guard replication.waitingClients.removeValue(forKey: connection) != nil else { return }
        node.waitCancelled(connection: connection)
    }

    // MARK: Handshake

    /// A standby's `REPLICATE`: the node decides and, when it streams, the connection turns
    /// into a replication link. Returns the reply line to send first.
    func standbyHandshake(_ command: Command, channel: any Channel) -> (reply: Reply, accepted: Bool) {
        let handshake: StandbyHandshake
        do {
            handshake = try StandbyHandshake(arguments: command.arguments)
        } catch {
            return (.error("ERR bad REPLICATE: \(error)"), false)
        }
        let facts: PrimaryLogFacts
        let reader = WALReader(dataDirectory: configuration.dataDirectory)
        do {
            let oldest = try WALReader.oldestRetainedLSN(dataDirectory: configuration.dataDirectory) ?? wal.lastWrittenLSN.next
            let snapshot = try SnapshotFormat.newest(dataDirectory: configuration.dataDirectory)
            facts = PrimaryLogFacts(
                lastWrittenLSN: wal.lastWrittenLSN, oldestRetainedLSN: oldest, newestSnapshotLSN: snapshot?.lsn,
                checksumOfRecord: { lsn in
                    // A record the WAL no longer holds may be the newest snapshot's last one.
                    let fromSnapshot = snapshot.flatMap { $0.lsn == lsn ? $0.lastRecordChecksum : nil }
                    do { return try reader.recordChecksum(at: lsn) ?? fromSnapshot } catch { return fromSnapshot }
                })
        } catch {
            return (.error("ERR cannot read the WAL: \(error)"), false)
        }
        let id = replication.makeLinkID()
        let now = WallClock.monotonicMilliseconds()
        let (outcome, actions) = node.standbyHandshake(handshake, link: id, facts: facts, nowMilliseconds: now)
        perform(actions)
        switch outcome {
        case .stream(let answer):
            replication.standbyChannel = (id, channel)
            replication.standbyReader = reader
            return (Self.reply(answer), true)
        case .snapshot(let lsn):
            let sender: SnapshotSender
            do {
                guard let newest = try SnapshotSender.newest(dataDirectory: configuration.dataDirectory),
                      newest.info.lsn == lsn else {
                    throw StorageError(.invalidState, "the snapshot at LSN \(lsn) is gone")
                }
                sender = newest
            } catch {
                perform(node.snapshotUnavailable(link: id, nowMilliseconds: now))
                return (.error("ERR cannot send the snapshot at LSN \(lsn): \(error)"), false)
            }
            replication.standbyChannel = (id, channel)
            replication.standbyReader = reader
            replication.snapshotSender = sender
            logger.info("sending the snapshot", metadata: ["snapshot_lsn": "\(lsn)", "bytes": "\(sender.totalBytes)"])
            return (Self.reply(.snapshot(
                epoch: epoch, lsn: lsn, bytes: sender.totalBytes, snapshotEpoch: sender.info.epoch, history: node.history,
                clusterID: node.coordinator?.clusterID)), true)
        case .refuse(let answer):
            return (Self.reply(answer), false)
        }
    }

    /// The RESP reply that carries a handshake answer.
    private static func reply(_ answer: HandshakeAnswer) -> Reply {
        let line = answer.line
        return line.isError ? .error(line.text) : .simple(line.text)
    }

    /// The link is ready: send the snapshot first if one is due, then records may stream.
    func standbyStreamStarted(_ channel: any Channel) {
        let id = replication.standbyLinkID(of: channel)
        if replication.snapshotSender != nil {
            sendNextSnapshotChunk()
            return
        }
        perform(node.standbyReadyToStream(link: id, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// One chunk at a time, the next when the socket took the previous: memory stays at one
    /// chunk whatever the snapshot's size.
    private func sendNextSnapshotChunk() {
        guard let sender = replication.snapshotSender, let link = replication.standbyChannel else { return }
        let channel = link.channel
        let offset = sender.bytesSent
        let chunkBytes = NodeLimits.standard.snapshotChunkBytes
        var buffer = channel.allocator.buffer(capacity: chunkBytes + 32)
        do {
            if let chunk = try sender.nextChunk(maxBytes: chunkBytes) {
                buffer.writeReplicationFrame(.snapshotChunk(epoch: epoch, offset: UInt64(offset), bytes: chunk))
                channel.writeAndFlush(buffer).whenComplete { result in
                    if case .success = result { self.sendNextSnapshotChunk() }
                }
                return
            }
            guard let checksum = sender.checksum else { throw StorageError(.invalidState, "snapshot checksum unknown at its end") }
            buffer.writeReplicationFrame(.snapshotEnd(epoch: epoch, totalBytes: UInt64(sender.totalBytes), checksum: checksum))
            channel.writeAndFlush(buffer, promise: nil)
        } catch {
            logger.error("cannot send the snapshot; the standby will retry", metadata: ["error": "\(error)"])
            replication.snapshotSender = nil
            channel.close(promise: nil)
            return
        }
        logger.info("snapshot sent to the standby", metadata: ["bytes": "\(sender.totalBytes)"])
        replication.snapshotSender = nil
        standbyStreamStarted(channel)
    }

    func standbyAcknowledged(_ channel: any Channel, durableLSN: LSN, frameEpoch: Epoch) {
        perform(node.standbyAcknowledged(
            durableLSN: durableLSN, epoch: frameEpoch, link: replication.standbyLinkID(of: channel),
            nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// The standby echoed a heartbeat, renewing the lease.
    func standbyEchoed(_ channel: any Channel, sentAt: Int64, frameEpoch: Epoch) {
        perform(node.standbyEchoed(
            sentAtMilliseconds: sentAt, epoch: frameEpoch, link: replication.standbyLinkID(of: channel),
            nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    func standbyLinkClosed(_ channel: any Channel) {
        let id = replication.standbyLinkID(of: channel)
        guard id != 0 else { return }
        replication.standbyChannel = nil
        replication.standbyReader = nil
        replication.snapshotSender = nil
        perform(node.standbyLinkClosed(link: id, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }
}
