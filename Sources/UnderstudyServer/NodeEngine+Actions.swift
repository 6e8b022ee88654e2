import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// The one place `DataNode`'s decisions become I/O: every action, in order, in one
/// exhaustive switch (`NodeAction` states the obligations; the first that matters here is
/// persist before send — a failed persist drops the rest of the list and fails the log).
extension NodeEngine {
    /// Carries out `actions`; returns how many connections' replies were released, for the
    /// group-commit policy.
    @discardableResult
    func perform(_ actions: [NodeAction]) -> Int {
        var released = 0
        for action in actions {
            switch action {
            case .syncLog(let reason):
                guard syncLogNow(before: reason) else { return released }
            case .persistHistory(let history):
                do {
                    try DurableStateFile.epochHistory.write(history.encode(), dataDirectory: configuration.dataDirectory)
                } catch {
                    failWAL("cannot persist the epoch history \(history): \(error)")
                    return released
                }
            case .persistClusterIdentity(let clusterID):
                do {
                    try DurableStateFile.clusterIdentity.write(Array(clusterID.utf8), dataDirectory: configuration.dataDirectory)
                } catch {
                    failWAL("cannot persist the cluster identity: \(error)")
                    return released
                }
            case .persistKnownEpoch(let known):
                do {
                    try DurableStateFile.knownEpoch.write(Array("\(known.rawValue)".utf8), dataDirectory: configuration.dataDirectory)
                } catch {
                    failWAL("cannot persist the known epoch \(known): \(error)")
                    return released
                }
            case .cutLog(let forkPoint, let byEpoch):
                rewind(keepThrough: forkPoint, primaryEpoch: byEpoch)
            case .appendReceived(let range):
                guard appendReceived(range) else { return released }
            case .release(let lsn):
                released += releaseHeldReplies(upTo: lsn)
            case .fail(let after, let through, let message):
                failHeldReplies(after: after, through: through, message: message)
            case .completeWait(let connection, let replicas):
                replication.waitingClients.removeValue(forKey: connection)?.completeWait(replicas: replicas)
            case .askWitness(let request):
                askWitness(request)
            case .sendHeartbeat(let frameEpoch, let lastWrittenLSN, let sentAt, let lease):
                sendToStandby(.heartbeat(
                    epoch: frameEpoch, lastWrittenLSN: lastWrittenLSN, primaryTimeMilliseconds: WallClock.nowMilliseconds(),
                    sentAtMilliseconds: sentAt, leaseMilliseconds: lease ?? 0))
            case .sendRecords(let from, let maxBytes):
                sendRecords(from: from, maxBytes: maxBytes)
            case .sendHandover(let frameEpoch, let newEpoch):
                handOverStream(epoch: frameEpoch, newEpoch: newEpoch)
            case .closeStandbyLink(let reason):
                closeStandbyLink(reason: reason)
            case .fencePeer(let fenceEpoch, let clusterID, let forcedFrom):
                fencePeer(epoch: fenceEpoch, clusterID: clusterID, forcedFrom: forcedFrom)
            case .connectToPrimary:
                connectToPrimary()
            case .sendHandshake(let handshake):
                guard let link = replication.primaryChannel else { break }
                var buffer = link.channel.allocator.buffer(capacity: 256)
                writePeerAuthentication(into: &buffer)
                buffer.writeRESPCommand(Command(arguments: handshake.arguments))
                link.channel.writeAndFlush(buffer, promise: nil)
            case .receiveSnapshot(let lsn, let bytes):
                beginSnapshot(lsn: lsn, bytes: bytes)
            case .sendAcknowledgement(let durable, let ackEpoch):
                let applied = node.standby?.replication.lastLSN ?? durable
                sendToPrimary(.acknowledge(epoch: ackEpoch, durableLSN: durable, appliedLSN: applied))
            case .echoHeartbeat(let echoEpoch, let sentAt):
                sendToPrimary(.heartbeatEcho(epoch: echoEpoch, sentAtMilliseconds: sentAt))
            case .closePrimaryLink:
                closePrimaryLink()
            case .firstWriteAcknowledged:
                let now = WallClock.monotonicMilliseconds()
                replication.lastPromotion?.firstWriteMilliseconds = now
                if let promoted = replication.lastPromotion?.promotedMilliseconds {
                    metrics.failovers.phaseEnded(.firstWrite, durationMilliseconds: now - promoted)
                }
            case .becamePrimary(let newEpoch, _, let wasStandby):
                keyspace.deletesExpiredKeys = true
                let now = WallClock.monotonicMilliseconds()
                if wasStandby {
                    recordPromotion(epoch: newEpoch, votedSinceMilliseconds: replication.pendingVoteSinceMilliseconds,
                                    nowMilliseconds: now)
                    replication.lastPromotion = PromotionTimeline(
                        epoch: newEpoch, detectedMilliseconds: replication.pendingVoteSinceMilliseconds,
                        promotedMilliseconds: now)
                }
                replication.pendingVoteSinceMilliseconds = nil
                // Heartbeat at once: the lease, and with it the first write, is one round trip away.
                eventLoop.execute { self.replicationTick() }
            case .becameStandby(let newEpoch, _, let wasPrimary):
                keyspace.deletesExpiredKeys = false
                replication.pendingVoteSinceMilliseconds = nil
                if wasPrimary { closeClientConnections(reason: "following the primary of epoch \(newEpoch)") }
            case .steppedDown(let seenEpoch):
                // Refusals come from the node from now on; its clients go and find the primary.
                closeClientConnections(reason: "stepped down on seeing epoch \(seenEpoch)")
            case .switchoverEnded(let outcome):
                endHandover(outcome)
            case .forcedPromotionEnded(let outcome):
                let completion = replication.forceCompletion
                replication.forceCompletion = nil
                completion?(Self.result(of: outcome))
            case .note(let note):
                log(note)
            case .event(let event):
                record(event)
            }
        }
        return released
    }

    static func result(of outcome: OperatorOutcome) -> Result<String, HandoverError> {
        switch outcome {
        case .done(let primary): return .success(primary)
        case .failed(let message): return .failure(HandoverError(message: message))
        }
    }

    private func log(_ note: NodeNote) {
        let metadata = note.metadata.mapValues { Logger.MetadataValue.string($0) }
        switch note.level {
        case .debug: logger.debug("\(note.message)", metadata: metadata)
        case .info: logger.info("\(note.message)", metadata: metadata)
        case .notice: logger.notice("\(note.message)", metadata: metadata)
        case .warning: logger.warning("\(note.message)", metadata: metadata)
        case .error: logger.error("\(note.message)", metadata: metadata)
        case .critical: logger.critical("\(note.message)", metadata: metadata)
        }
    }

    private func sendToStandby(_ frame: ReplicationFrame) {
        guard let link = replication.standbyChannel else { return }
        var buffer = link.channel.allocator.buffer(capacity: 48)
        buffer.writeReplicationFrame(frame)
        link.channel.writeAndFlush(buffer, promise: nil)
    }

    private func sendToPrimary(_ frame: ReplicationFrame) {
        guard let link = replication.primaryChannel else { return }
        var buffer = link.channel.allocator.buffer(capacity: 32)
        buffer.writeReplicationFrame(frame)
        link.channel.writeAndFlush(buffer, promise: nil)
    }

    private func closeStandbyLink(reason: String) {
        guard let link = replication.standbyChannel else { return }
        replication.standbyChannel = nil
        replication.standbyReader = nil
        replication.snapshotSender = nil
        link.channel.close(promise: nil)
    }

    private func closePrimaryLink() {
        // An unfinished snapshot leaves the node as it was (the receiver removes its file).
        replication.snapshotReceiver?.abort()
        replication.snapshotReceiver = nil
        guard let link = replication.primaryChannel else { return }
        replication.primaryChannel = nil
        link.channel.close(promise: nil)
    }

    /// Writes what is buffered and fsyncs it on this thread (a role change is rare, and
    /// what follows depends on it). False, with the log failed, if that did not work.
    func syncLogNow(before step: String) -> Bool {
        flush()
        guard walFailure == nil else { return false }
        do {
            if let job = wal.makeSyncJob() {
                durableLSN = max(durableLSN, try job.run())
            }
            return true
        } catch {
            failWAL("fdatasync before \(step) failed: \(error)")
            return false
        }
    }
}
