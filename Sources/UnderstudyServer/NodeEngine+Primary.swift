import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// The primary's side of replication: the shell that carries out `PrimaryReplication`'s
/// actions. Every decision (what to send, what to release, when to fail) is the core's.
extension NodeEngine {
    /// What `CommandRefusal` decides on: this node's role, lease, epochs and log, now.
    var nodeFacts: CommandRefusal.NodeFacts {
        let witnessed = replication.configuration?.witness != nil
        return CommandRefusal.NodeFacts(
            pairRole: replication.role, coordinatedRole: witnessed ? replication.coordinator?.role ?? .undecided : nil,
            hasLease: holdsLease(), epoch: epoch, knownEpoch: replication.coordinator?.epoch ?? epoch,
            supersededBy: replication.fencedByEpoch, logFailure: walFailure)
    }

    /// The RESP text of a refusal: every one says the command did not run.
    func text(of refusal: CommandRefusal) -> String {
        switch refusal {
        case .logFailed(let reason):
            return "ERR write refused: \(reason)"
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

    /// After the loop-end write: the core learns, record by record, what the WAL files now
    /// hold (one pass's bytes are shared evenly among its records, for the lag in bytes).
    func recordsWritten(upTo lsn: LSN) {
        guard let lastReported = replication.primary?.lastWrittenLSN, lsn > lastReported else { return }
        let count = Int64(lsn.rawValue - lastReported.rawValue)
        let bytes = wal.totalBytesWritten - replication.bytesReportedWritten
        replication.bytesReportedWritten = wal.totalBytesWritten
        let now = WallClock.monotonicMilliseconds()
        primaryEvent { primary in
            var actions: [PrimaryAction] = []
            var next = lastReported.next
            while next <= lsn {
                actions += primary.recordWritten(next, bytes: Int(bytes / count), nowMilliseconds: now)
                next = next.next
            }
            return actions
        }
    }

    /// Runs one event of the primary's state machine in place — never on a copy, which would
    /// duplicate its record ring on every event — and performs the actions it returns.
    @discardableResult
    func primaryEvent(_ event: (inout PrimaryReplication) -> [PrimaryAction]) -> Int {
        guard replication.primary != nil else { return 0 }
        let actions = event(&replication.primary!)
        return perform(actions)
    }

    /// Local durability advanced (fdatasync, or write(2) under everysec/no). Returns how
    /// many connections' replies it released, for the group-commit policy.
    @discardableResult
    func localDurabilityAdvanced(to lsn: LSN) -> Int {
        guard replication.primary != nil else { return advanceVisible(to: lsn) }
        let now = WallClock.monotonicMilliseconds()
        return primaryEvent { $0.localDurable(lsn, nowMilliseconds: now) }
    }

    /// Carries out the core's actions in order; returns how many connections were released.
    @discardableResult
    func perform(_ actions: [PrimaryAction]) -> Int {
        var released = 0
        for action in actions {
            switch action {
            case .release(let lsn):
                // Without a lease the replies wait (`.leaseAcquired` releases them) or fail on step-down.
                released += acknowledge(upTo: lsn)
                if replication.handover != nil { eventLoop.execute { self.continueHandover() } }
            case .failWaiting(let after, let through, let message):
                logger.warning("failing the replies of writes not acknowledged", metadata: [
                    "after_lsn": "\(after)", "through_lsn": "\(through)", "reply": "\(message)",
                ])
                failHeldReplies(after: after, through: through, message: message)
            case .stepDown(let seenEpoch):
                stepDown(seenEpoch: seenEpoch)
                if replication.coordinator != nil {
                    performCoordination(replication.coordinator!.observed(
                        epoch: seenEpoch, primary: nil, nowMilliseconds: WallClock.monotonicMilliseconds()))
                }
            case .sendRecords(let from, let maxBytes):
                sendRecords(from: from, maxBytes: maxBytes)
            case .completeWait(let connection, let replicas):
                replication.waitingClients.removeValue(forKey: connection)?.completeWait(replicas: replicas)
            case .disconnectStandby(let reason):
                logger.warning("closing the standby's connection", metadata: ["reason": "\(reason)"])
                replication.standbyChannel?.close(promise: nil)
            }
        }
        return released
    }

    private func stepDown(seenEpoch: Epoch) {
        guard replication.fencedByEpoch == nil else { return }
        replication.fencedByEpoch = seenEpoch
        logger.critical("a higher epoch exists: this node stops accepting writes", metadata: [
            "epoch": "\(epoch)", "seen_epoch": "\(seenEpoch)",
        ])
    }

    /// Reads whole WAL frames from the files and sends them as one records frame.
    private func sendRecords(from: LSN, maxBytes: Int) {
        guard let channel = replication.standbyChannel, let reader = replication.standbyReader else { return }
        let batch: WALFrameBatch
        do {
            if reader.nextLSN != from { try reader.seek(to: from) }
            guard let read = try reader.readFrames(upTo: wal.lastWrittenLSN, maxBytes: maxBytes) else { return }
            batch = read
        } catch {
            logger.error("cannot read the WAL for the standby; it will reconnect", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
            return
        }
        var buffer = channel.allocator.buffer(capacity: batch.bytes.count + 32)
        buffer.writeReplicationFrame(Self.recordsFrame(epoch: epoch, frames: batch.bytes))
        channel.writeAndFlush(buffer, promise: nil)
        primaryEvent { $0.recordsSent(upTo: batch.lastLSN, bytes: batch.bytes.count) }
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
        if replication.role == .standby { return .error("ERR WAIT cannot be used with replica instances.") }
        guard replication.primary != nil else { return .integer(0) }
        let deadline = timeoutMilliseconds == 0 ? nil : WallClock.monotonicMilliseconds() + timeoutMilliseconds
        let connection = UInt64(handler.session.id)
        let outcome = replication.primary!.waitRequested(
            connection: connection, lsn: lsn, deadlineMilliseconds: deadline, numberOfReplicas: numberOfReplicas)
        switch outcome {
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
        guard lsn > .zero else { return ("none", lsn) }
        if let standbyDurable = replication.primary?.standbyDurableLSN, standbyDurable >= lsn { return ("replica", lsn) }
        return (durableLSN >= lsn ? "local" : "pending", lsn)
    }

    func waitingClientDisconnected(_ handler: ClientHandler) {
        let connection = UInt64(handler.session.id)
        guard replication.waitingClients.removeValue(forKey: connection) != nil, replication.primary != nil else { return }
        replication.primary!.waitCancelled(connection: connection)
    }

    // MARK: Handshake

    /// A standby's `REPLICATE`: decides with the core and, when it streams, turns the
    /// connection into a replication link. Returns the reply line to send first.
    func standbyHandshake(_ command: Command, channel: any Channel) -> (reply: Reply, accepted: Bool) {
        guard var primary = replication.primary else {
            let reason = replication.role == .standby
                ? "READONLY this node is a standby; its primary is \(replication.configuration.map { "\($0.peer)" } ?? "unknown")"
                : "ERR this node has no --peer: it does not replicate"
            return (.error(reason), false)
        }
        let handshake: StandbyHandshake
        do {
            handshake = try StandbyHandshake(arguments: command.arguments)
        } catch {
            return (.error("ERR bad REPLICATE: \(error)"), false)
        }
        if let refusal = replication.coordinator?.identityRefusal(ofPeerClaiming: handshake.clusterID) {
            logger.error("refused a standby of another cluster", metadata: ["standby": "\(handshake.standbyAddress)", "reason": "\(refusal)"])
            return (.error("ERR \(refusal)"), false)
        }
        let facts: PrimaryLogFacts
        let reader = WALReader(dataDirectory: configuration.dataDirectory)
        do {
            let oldest = try WALReader.oldestRetainedLSN(dataDirectory: configuration.dataDirectory) ?? wal.lastWrittenLSN.next
            let snapshotLSN = try SnapshotFormat.newest(dataDirectory: configuration.dataDirectory)?.lsn
            facts = PrimaryLogFacts(
                lastWrittenLSN: wal.lastWrittenLSN, oldestRetainedLSN: oldest, newestSnapshotLSN: snapshotLSN,
                checksumOfRecord: { lsn in
                    do { return try reader.recordChecksum(at: lsn) } catch { return nil }
                })
        } catch {
            return (.error("ERR cannot read the WAL: \(error)"), false)
        }
        let decision = primary.standbyHandshake(handshake, facts: facts)
        replication.primary = primary
        switch decision {
        case .stream, .sendSnapshot:
            // A standby that comes back below what was acknowledged (re-seeded, say) does not
            // hold every acknowledged write: it is recorded out of sync before it counts.
            replication.coordinator?.standbyAttached(standbyLastLSN: handshake.lastLSN, commitLSN: visibleLSN)
        case .refuseDiverged, .refuseUnavailable, .stepDown:
            break
        }
        switch decision {
        case .stream(let from):
            replication.standbyChannel?.close(promise: nil)  // a new handshake replaces the old link
            replication.standbyChannel = channel
            replication.standbyReader = reader
            replication.standbyAddress = handshake.standbyAddress
            logger.info("standby attached", metadata: [
                "standby": "\(handshake.standbyAddress)", "from_lsn": "\(from)", "standby_lsn": "\(handshake.lastLSN)",
            ])
            return (Self.reply(.stream(epoch: epoch, from: from, clusterID: replication.coordinator?.clusterID)), true)
        case .sendSnapshot(let lsn):
            let sender: SnapshotSender
            do {
                guard let newest = try SnapshotSender.newest(dataDirectory: configuration.dataDirectory),
                      newest.info.lsn == lsn else {
                    throw StorageError(.invalidState, "the snapshot at LSN \(lsn) is gone")
                }
                sender = newest
            } catch {
                primary.standbyDetached(nowMilliseconds: WallClock.monotonicMilliseconds())
                replication.primary = primary
                return (.error("ERR cannot send the snapshot at LSN \(lsn): \(error)"), false)
            }
            replication.standbyChannel?.close(promise: nil)
            replication.standbyChannel = channel
            replication.standbyReader = reader
            replication.standbyAddress = handshake.standbyAddress
            replication.snapshotSender = sender
            logger.info("standby needs a snapshot: sending it", metadata: [
                "standby": "\(handshake.standbyAddress)", "snapshot_lsn": "\(lsn)", "bytes": "\(sender.totalBytes)",
            ])
            return (Self.reply(.snapshot(
                epoch: epoch, lsn: lsn, bytes: sender.totalBytes, snapshotEpoch: sender.info.epoch, history: replication.history,
                clusterID: replication.coordinator?.clusterID)), true)
        case .refuseDiverged(let reason):
            logger.error("standby refused: its log diverged from ours", metadata: ["standby": "\(handshake.standbyAddress)", "reason": "\(reason)"])
            // Our history lets the standby find the fork point and cut off what follows it.
            return (Self.reply(.diverged(history: replication.history, clusterID: replication.coordinator?.clusterID, reason: reason)), false)
        case .refuseUnavailable(let reason):
            return (.error("ERR \(reason)"), false)
        case .stepDown(let seenEpoch):
            perform(primary.receivedHigherEpoch(seenEpoch))
            return (.error("EPOCH \(seenEpoch) this node was primary of epoch \(epoch) and has stepped down"), false)
        }
    }

    /// The RESP reply that carries a handshake answer.
    private static func reply(_ answer: HandshakeAnswer) -> Reply {
        let line = answer.line
        return line.isError ? .error(line.text) : .simple(line.text)
    }

    /// The link is ready: send the snapshot first if one is due, then the core may stream.
    func standbyStreamStarted() {
        if replication.snapshotSender != nil {
            sendNextSnapshotChunk()
            return
        }
        primaryEvent { $0.readyToStream() }
    }

    /// One chunk at a time, the next when the socket took the previous: memory stays at one
    /// chunk whatever the snapshot's size.
    private func sendNextSnapshotChunk() {
        guard let sender = replication.snapshotSender, let channel = replication.standbyChannel else { return }
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
        standbyStreamStarted()
    }

    func standbyAcknowledged(durableLSN: LSN, frameEpoch: Epoch) {
        let now = WallClock.monotonicMilliseconds()
        primaryEvent { $0.standbyAcknowledged(durableLSN: durableLSN, epoch: frameEpoch, nowMilliseconds: now) }
        guard replication.coordinator != nil else { return }
        replication.coordinator!.standbyHeard(nowMilliseconds: now)
        continueHandover()
        // Acknowledging alone: the moment the standby holds every released write, wait for it again.
        if replication.primary?.acknowledgesAlone == true { coordinationTick() }
    }

    func standbyLinkClosed(_ channel: any Channel) {
        guard replication.standbyChannel === channel, replication.primary != nil else { return }
        replication.primary!.standbyDetached(nowMilliseconds: WallClock.monotonicMilliseconds())
        replication.standbyChannel = nil
        replication.standbyReader = nil
        replication.snapshotSender = nil
        logger.warning("standby detached", metadata: ["standby": "\(replication.standbyAddress ?? "?")"])
    }

    /// Every heartbeat interval: timeouts in the core, a heartbeat frame to the standby.
    func replicationTick() {
        let now = WallClock.monotonicMilliseconds()
        coordinationTick()
        standbyTick()
        if replication.primary != nil {
            primaryEvent { $0.tick(nowMilliseconds: now) }
            guard let primary = replication.primary else { return }
            // Replies (reads among them) that arrived after their records had already timed
            // out depend on writes the standby does not have: with no standby attached they
            // fail too, rather than wait forever. With one attached, its acknowledgement
            // releases them in a moment.
            if replication.standbyChannel == nil, primary.waitingFloorLSN > visibleLSN {
                failHeldReplies(
                    after: visibleLSN, through: primary.waitingFloorLSN,
                    message: "NOREPLICAS this reply depends on writes up to LSN \(primary.waitingFloorLSN) that the standby has not acknowledged")
            }
            // With a witness the coordinator sends heartbeats (they carry the lease).
            if replication.coordinator == nil, let channel = replication.standbyChannel {
                var buffer = channel.allocator.buffer(capacity: 48)
                buffer.writeReplicationFrame(.heartbeat(
                    epoch: epoch, lastWrittenLSN: wal.lastWrittenLSN, primaryTimeMilliseconds: WallClock.nowMilliseconds(),
                    sentAtMilliseconds: now))
                channel.writeAndFlush(buffer, promise: nil)
            }
        }
    }
}
