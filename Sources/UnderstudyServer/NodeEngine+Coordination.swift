import Logging
import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

#if canImport(Glibc)
import Glibc
#endif

/// Automatic failover in the shell: carries out `NodeCoordinator`'s decisions — talks to
/// the witness, sends and echoes lease heartbeats, promotes this node or makes it follow,
/// cuts off a divergent suffix on rejoin — and gates every acknowledgement on the lease.
extension NodeEngine {
    /// The name this node goes by with the witness: its `--listen` address.
    var nodeName: String { "\(configuration.host):\(listeningPort)" }

    /// Creates the coordinator and the witness link on the first tick (the bound port is
    /// known by then).
    private func startCoordinationIfNeeded(now: Int64) {
        guard replication.coordinator == nil, let configuration = replication.configuration,
              let witness = configuration.witness, walFailure == nil else { return }
        do {
            replication.persistedClusterID = try DurableStateFile.clusterIdentity.read(
                dataDirectory: self.configuration.dataDirectory).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            failWAL("cannot read the cluster identity: \(error)")
            return
        }
        replication.coordinator = NodeCoordinator(
            node: nodeName, hint: configuration.roleHint, epoch: replication.history.currentEpoch,
            settings: configuration.coordinationSettings, nowMilliseconds: now, clusterID: replication.persistedClusterID)
        replication.witnessLink = WitnessLink(
            address: witness, eventLoop: eventLoop, logger: logger,
            requestTimeoutMilliseconds: configuration.failureTimeoutMilliseconds
        ) { [unowned self] request, result, sentAt in
            self.witnessReplied(request, result: result, sentAt: sentAt)
        }
        logger.info("automatic failover on: asking the witness for this node's role", metadata: [
            "node": "\(nodeName)", "witness": "\(witness)", "epoch": "\(epoch)",
        ])
    }

    /// Every heartbeat interval.
    func coordinationTick() {
        let now = WallClock.monotonicMilliseconds()
        startCoordinationIfNeeded(now: now)
        guard replication.coordinator != nil, !isStopping else { return }
        replication.witnessLink?.checkTimeouts(nowMilliseconds: now)
        checkPendingForce(now: now)
        continueHandover()
        let primary = replication.primary
        let facts = NodeCoordinator.LogFacts(
            lastWrittenLSN: wal.lastWrittenLSN, durableLSN: durableLSN,
            standbyDurableLSN: primary?.standbyDurableLSN,
            // Unknown lag (never acknowledged, or behind the record history) is not zero.
            standbyLagBytes: primary?.knownLagBytes(nowMilliseconds: now),
            standbyHoldsEveryReleasedWrite: primary.map {
                replication.standbyChannel != nil && ($0.standbyDurableLSN ?? .zero) >= $0.commitLSN
            } ?? false,
            commitLSN: primary == nil ? .zero : visibleLSN,
            standbyAttached: replication.standbyChannel != nil)
        performCoordination(replication.coordinator!.tick(nowMilliseconds: now, facts: facts))
    }

    /// Whether this node may acknowledge a write or serve a read now. Always true without a witness.
    func holdsLease() -> Bool {
        guard let coordinator = replication.coordinator else { return replication.configuration?.witness == nil }
        return coordinator.hasLease(nowMilliseconds: WallClock.monotonicMilliseconds())
    }

    // MARK: Actions

    func performCoordination(_ actions: [CoordinatorAction]) {
        guard persistClusterIdentityIfLearned() else { return }
        let now = WallClock.monotonicMilliseconds()
        for action in actions {
            switch action {
            case .askWitness(let request):
                if case .vote(_, let asked, _, _, _) = request, replication.pendingVoteSinceMilliseconds == nil {
                    replication.pendingVoteSinceMilliseconds = now
                    if replication.coordinator?.role == .undecided {
                        logger.info("the witness names this node primary: asking for a new epoch rather than resuming the old one", metadata: [
                            "epoch": "\(asked)", "durable_lsn": "\(durableLSN)",
                        ])
                    } else {
                        logger.warning("the primary is unreachable: asking the witness to promote this node", metadata: [
                            "epoch": "\(asked)", "durable_lsn": "\(durableLSN)",
                        ])
                    }
                }
                replication.witnessLink?.send(request, nowMilliseconds: now)
            case .sendStandbyHeartbeat(let sentAt):
                sendStandbyHeartbeat(sentAt: sentAt)
            case .becomePrimary(let newEpoch, let alone):
                promote(to: newEpoch, acknowledgeAlone: alone)
                completePendingForce(.success(nodeName))
                // Heartbeat at once: the lease, and with it the first write, is one round trip away.
                eventLoop.execute { self.coordinationTick() }
            case .becomeStandby(let newEpoch, let primary):
                let handingOver = replication.handover?.machine.stage == .askingWitness
                if handingOver { handOverStream(newEpoch: newEpoch) }
                follow(epoch: newEpoch, primary: primary)
                if handingOver { endHandover(.success(primary ?? replication.configuration.map { "\($0.peer)" } ?? "?")) }
                completePendingForce(.failure(HandoverError(message: "ERR another node became the primary of epoch \(newEpoch)")))
            case .acknowledgeAlone(let alone):
                logger.warning(alone ? "the witness recorded the standby as not in sync: acknowledging writes alone"
                                     : "the standby has every acknowledged write: waiting for it again", metadata: [
                    "epoch": "\(epoch)", "last_lsn": "\(wal.lastWrittenLSN)",
                ])
                primaryEvent { $0.setAcknowledgesAlone(alone) }
            case .leaseAcquired:
                leaseRegained()
            case .fencePeer(let fenceEpoch, let clusterID):
                fencePeer(epoch: fenceEpoch, clusterID: clusterID)
            }
        }
    }

    /// The coordinator learned the cluster identity from the witness: persist it (fsync)
    /// before acting on anything that followed. False, with the log failed, if that failed.
    func persistClusterIdentityIfLearned() -> Bool {
        guard let learned = replication.coordinator?.clusterID, learned != replication.persistedClusterID else { return true }
        do {
            try DurableStateFile.clusterIdentity.write(Array(learned.utf8), dataDirectory: configuration.dataDirectory)
        } catch {
            failWAL("cannot persist the cluster identity: \(error)")
            return false
        }
        replication.persistedClusterID = learned
        logger.info("this node belongs to cluster \(learned)")
        return true
    }

    private func witnessReplied(_ request: WitnessRequest, result: Result<WitnessReply, WitnessLinkError>, sentAt: Int64) {
        guard replication.coordinator != nil else { return }
        let now = WallClock.monotonicMilliseconds()
        switch result {
        case .success(let reply):
            if case .handover = request, let handover = replication.handover { perform(handover.machine.witnessAnswered(reply)) }
            if case .denied(let reason) = reply, replication.coordinator?.lastDenial != reason {
                logger.info("the witness said no", metadata: ["request": "\(request.arguments.count > 1 ? String(decoding: request.arguments[1], as: UTF8.self) : "?")", "reason": "\(reason)"])
            }
            performCoordination(replication.coordinator!.witnessAnswered(request, reply: reply, sentAtMilliseconds: sentAt, nowMilliseconds: now))
        case .failure(let error):
            if case .handover = request, let handover = replication.handover {
                perform(handover.machine.witnessAnswered(nil, error: "\(error)"))
            }
            performCoordination(replication.coordinator!.witnessUnreachable(request))
        }
    }

    private func sendStandbyHeartbeat(sentAt: Int64) {
        guard let channel = replication.standbyChannel else { return }
        var buffer = channel.allocator.buffer(capacity: 48)
        buffer.writeReplicationFrame(.heartbeat(
            epoch: epoch, lastWrittenLSN: wal.lastWrittenLSN, primaryTimeMilliseconds: WallClock.nowMilliseconds(),
            sentAtMilliseconds: sentAt, leaseMilliseconds: replication.coordinator?.settings.leaseMilliseconds ?? 0))
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Primary: the standby echoed a heartbeat, renewing the lease.
    func standbyEchoed(sentAt: Int64, frameEpoch: Epoch) {
        guard replication.coordinator != nil else { return }
        let now = WallClock.monotonicMilliseconds()
        performCoordination(replication.coordinator!.standbyEchoedHeartbeat(sentAtMilliseconds: sentAt, epoch: frameEpoch, nowMilliseconds: now))
    }

    /// Standby: a heartbeat arrived; echo it if the coordinator makes the promise.
    func echoPrimaryHeartbeat(epoch heartbeatEpoch: Epoch, sentAt: Int64, primaryLeaseMilliseconds: Int64) {
        guard replication.coordinator != nil, let channel = replication.primaryChannel else { return }
        guard replication.coordinator!.primaryHeartbeat(
            epoch: heartbeatEpoch, primaryLeaseMilliseconds: primaryLeaseMilliseconds > 0 ? primaryLeaseMilliseconds : nil,
            nowMilliseconds: WallClock.monotonicMilliseconds()) else { return }
        var buffer = channel.allocator.buffer(capacity: 24)
        buffer.writeReplicationFrame(.heartbeatEcho(epoch: heartbeatEpoch, sentAtMilliseconds: sentAt))
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Standby: connecting to the primary failed; a refused connection means its process is gone.
    func primaryConnectFailed(_ error: any Error) {
        guard replication.coordinator != nil, Self.isConnectionRefused(error) else { return }
        replication.coordinator!.primaryRefusedConnection()
    }

    private static func isConnectionRefused(_ error: any Error) -> Bool {
        if let connection = error as? NIOConnectionError {
            return connection.connectionErrors.contains { isConnectionRefused($0.error) }
        }
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        return false
    }

    // MARK: Fencing through the peer

    /// `FENCE <epoch> <primary> <cluster>`: the peer is primary of `epoch`. A primary that
    /// knows only older epochs stops acting as primary at once and follows it — this is how
    /// an old primary learns of a forced promotion made while the witness was gone. The
    /// coordinator decides; FENCE can only demote, and only the peer of this cluster.
    func fence(_ arguments: [[UInt8]]) -> Reply {
        guard let seen = UInt64(String(decoding: arguments[1], as: UTF8.self)) else {
            return .error("ERR FENCE epoch must be a number")
        }
        let primary = String(decoding: arguments[2], as: UTF8.self)
        let clusterID = String(decoding: arguments[3], as: UTF8.self)
        guard replication.coordinator != nil else { return .error("ERR this node has no --witness: it takes its role from --role") }
        switch replication.coordinator!.fenced(
            epoch: Epoch(seen), by: primary, clusterID: clusterID, nowMilliseconds: WallClock.monotonicMilliseconds()) {
        case .success(let actions):
            logger.critical("fenced by the peer: it is primary of a newer epoch", metadata: ["epoch": "\(seen)", "primary": "\(primary)"])
            performCoordination(actions)
            return .simple("OK \(max(epoch, replication.coordinator?.epoch ?? epoch))")
        case .failure(let refusal):
            logger.warning("refused a FENCE", metadata: ["epoch": "\(seen)", "primary": "\(primary)", "reason": "\(refusal)"])
            return .error(Self.text(of: refusal))
        }
    }

    /// The RESP text of a refused FENCE.
    private static func text(of refusal: FenceRefusal) -> String {
        switch refusal {
        case .foreignCluster: return "ERR FENCE refused: it does not carry this node's cluster identity"
        case .notThePeer: return "ERR FENCE refused: only this node's peer can fence it, and never into primary"
        case .notPrimary(let epoch): return "ERR FENCE refused: this node is not a primary (epoch \(epoch)); FENCE only demotes"
        case .notNewer(let epoch): return "\(Self.notNewerPrefix)\(epoch), not older"
        }
    }

    private static let notNewerPrefix = "ERR FENCE refused: this node is primary of epoch "

    /// Sends the peer `FENCE`; a refusal saying the peer is primary of an epoch not older
    /// goes back to the coordinator (an epoch two primaries would share).
    private func fencePeer(epoch fenceEpoch: Epoch, clusterID: String) {
        guard let peer = replication.configuration?.peer else { return }
        let command = Command("FENCE", "\(fenceEpoch)", nodeName, clusterID)
        let logger = self.logger
        let loop = eventLoop
        Task {
            let replies: [Reply]
            do {
                replies = try await RESPRequest.send([command], to: peer, timeoutMilliseconds: 500)
            } catch {
                // The peer is down or unreachable: it learns the epoch when it comes back.
                logger.debug("cannot tell the peer this node's epoch", metadata: ["peer": "\(peer)", "error": "\(error)"])
                return
            }
            guard case .error(let message)? = replies.first, message.hasPrefix(Self.notNewerPrefix),
                  let peerEpoch = UInt64(message.dropFirst(Self.notNewerPrefix.count).prefix { $0.isNumber }) else { return }
            loop.execute {
                guard self.replication.coordinator != nil else { return }
                let actions = self.replication.coordinator!.peerIsPrimary(
                    ofEpoch: Epoch(peerEpoch), nowMilliseconds: WallClock.monotonicMilliseconds())
                if !actions.isEmpty {
                    self.logger.critical("the peer is primary of the epoch this forced promotion took: taking the next one", metadata: [
                        "peer_epoch": "\(peerEpoch)",
                    ])
                }
                self.performCoordination(actions)
            }
        }
    }

    // MARK: Forced promotion

    /// `PROMOTE FORCE`: this standby becomes primary although automation would not promote
    /// it (witness gone, not in sync, too far behind). It still waits for its own promise and
    /// takes the next epoch through the witness if it answers, so the old primary is fenced.
    func forcePromotion(timeoutMilliseconds: Int64, completion: @escaping (Result<String, HandoverError>) -> Void) {
        guard replication.coordinator != nil, replication.pendingForce == nil else {
            completion(.failure(HandoverError(message: replication.coordinator == nil
                ? "ERR forced promotion needs automatic failover (--witness); without it restart this node with --role primary"
                : "ERR a forced promotion is already in progress")))
            return
        }
        guard replication.coordinator!.forcePromotion() else {
            completion(.failure(HandoverError(message: "ERR only a standby can be promoted (this node is \(replication.coordinator!.role.rawValue))")))
            return
        }
        logger.critical("forced promotion requested by an operator: taking the next epoch once this node's promise has run out", metadata: [
            "durable_lsn": "\(durableLSN)", "epoch": "\(epoch)",
        ])
        replication.pendingForce = (WallClock.monotonicMilliseconds() + timeoutMilliseconds, completion)
        coordinationTick()
    }

    func completePendingForce(_ outcome: Result<String, HandoverError>) {
        guard let pending = replication.pendingForce else { return }
        replication.pendingForce = nil
        pending.completion(outcome)
    }

    /// Every tick: a forced promotion that has not happened by its deadline is reported.
    func checkPendingForce(now: Int64) {
        guard let pending = replication.pendingForce, now >= pending.deadline else { return }
        replication.coordinator?.cancelForcePromotion()
        logger.warning("forced promotion abandoned at its deadline", metadata: ["reason": "\(replication.coordinator?.lastDenial ?? "no answer from the witness")"])
        completePendingForce(.failure(HandoverError(message: "ERR not promoted within the timeout, and no longer trying: \(replication.coordinator?.lastDenial ?? "the witness did not answer") (a primary that still holds its lease through the witness cannot be superseded safely: stop it, or use understudy switchover)")))
    }

    // MARK: Role changes

    /// Becomes primary of `newEpoch` (persisting it first if it is new): stop following,
    /// take writes, stream to the standby when it connects.
    private func promote(to newEpoch: Epoch, acknowledgeAlone: Bool) {
        guard let configuration = replication.configuration else { return }
        let now = WallClock.monotonicMilliseconds()
        let wasFollowing = replication.role == .standby && replication.standby != nil
        if let channel = replication.primaryChannel {
            replication.primaryChannel = nil
            channel.close(promise: nil)
        }
        replication.snapshotReceiver?.abort()
        replication.snapshotReceiver = nil
        replication.incomingSnapshot = nil
        // The primary's state machine counts the log it starts from as durable.
        guard syncLogNow(before: "becoming primary") else { return }
        if newEpoch > replication.history.currentEpoch {
            var history = replication.history
            history.begin(epoch: newEpoch, at: wal.lastAppendedLSN.next)
            do {
                try DurableStateFile.epochHistory.write(history.encode(), dataDirectory: self.configuration.dataDirectory)
            } catch {
                // Not persisted: acting in the epoch could reuse it after a crash. Refuse writes.
                logger.critical("cannot persist the new epoch; refusing to act as primary", metadata: [
                    "epoch": "\(newEpoch)", "error": "\(error)",
                ])
                failWAL("cannot persist epoch \(newEpoch): \(error)")
                return
            }
            replication.history = history
        }
        replication.standby = nil
        replication.role = .primary
        replication.fencedByEpoch = nil
        replication.linkStatus = "none"
        keyspace.deletesExpiredKeys = true
        replication.bytesReportedWritten = wal.totalBytesWritten
        replication.primary = PrimaryReplication(
            mode: configuration.mode, epoch: newEpoch, history: replication.history,
            maxWaitingRecords: configuration.maxWaitingWrites,
            syncTimeoutMilliseconds: configuration.syncTimeoutMilliseconds,
            windowBytes: configuration.windowBytes, lastWrittenLSN: wal.lastWrittenLSN)
        primaryEvent { $0.setAcknowledgesAlone(acknowledgeAlone) }
        // Reads that waited for records applied as a standby need nothing more.
        advanceVisible(to: wal.lastWrittenLSN)
        if wasFollowing {
            replication.lastPromotion = PromotionTimeline(
                epoch: newEpoch, detectedMilliseconds: replication.pendingVoteSinceMilliseconds,
                promotedMilliseconds: now, promotedAtLSN: wal.lastWrittenLSN)
        }
        logger.warning("this node is now the primary", metadata: [
            "epoch": "\(newEpoch)", "last_lsn": "\(wal.lastWrittenLSN)", "acknowledges_alone": "\(acknowledgeAlone)",
            "since_vote_asked_ms": "\(replication.pendingVoteSinceMilliseconds.map { now - $0 } ?? 0)",
        ])
        replication.pendingVoteSinceMilliseconds = nil
    }

    /// Stops acting as primary (if it was) and follows the primary at `--peer`. Replies not
    /// yet released fail: their writes were never acknowledged and may be cut off later.
    private func follow(epoch newEpoch: Epoch, primary: String?) {
        let wasPrimary = replication.primary != nil
        if wasPrimary {
            perform(replication.primary!.receivedHigherEpoch(newEpoch))
            failHeldReplies(
                after: visibleLSN, through: LSN(UInt64.max),
                message: UncertainOutcome.message("this node stopped being primary (epoch \(newEpoch) superseded epoch \(epoch))"))
            if let channel = replication.standbyChannel {
                replication.standbyChannel = nil
                channel.close(promise: nil)
            }
            replication.standbyReader = nil
            replication.snapshotSender = nil
            replication.primary = nil
        }
        // The standby's state machine counts the log it starts from as durable (and
        // acknowledges it); and no epoch entry may lie beyond that log.
        guard syncLogNow(before: "following a primary") else { return }
        let trimmed = replication.history.truncated(after: wal.lastWrittenLSN)
        if trimmed != replication.history {
            do {
                try DurableStateFile.epochHistory.write(trimmed.encode(), dataDirectory: configuration.dataDirectory)
                replication.history = trimmed
            } catch {
                failWAL("cannot persist the epoch history: \(error)")
                return
            }
        }
        replication.standby = StandbyReplication(
            epoch: replication.history.currentEpoch, history: replication.history,
            lastLSN: wal.lastWrittenLSN, lastRecordChecksum: wal.lastRecordChecksum)
        replication.role = .standby
        keyspace.deletesExpiredKeys = false
        replication.linkStatus = "connecting"
        replication.nextConnectAtMilliseconds = 0
        replication.reconnectDelayMilliseconds = 100
        replication.pendingVoteSinceMilliseconds = nil
        // Connect now, not at the next tick: a sync primary waits for its standby.
        eventLoop.execute { self.standbyTick() }
        if wasPrimary {
            logger.critical("stepped down: a newer primary exists; following it", metadata: [
                "epoch": "\(newEpoch)", "primary": "\(primary ?? "?")", "last_lsn": "\(wal.lastWrittenLSN)",
            ])
        } else {
            logger.info("following the primary", metadata: ["epoch": "\(newEpoch)", "primary": "\(primary ?? "?")"])
        }
    }

    /// Writes what is buffered and fsyncs it on this thread (a role change is rare, and
    /// what follows depends on it). False, with the log failed, if that did not work.
    private func syncLogNow(before step: String) -> Bool {
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

    // MARK: Rejoin

    /// The primary refused this standby because its log diverged (`-DIVERGED <history>
    /// cluster=<id> <reason>`): the coordinator decides whether this node's records after
    /// the fork point are to be cut off — into a lost-writes file, never silently — so that
    /// it streams again from the fork point. False leaves the refusal to stand.
    func rewindIfDiverged(primaryHistory: EpochHistory, clusterID: String?) -> Bool {
        guard let coordinator = replication.coordinator else { return false }
        switch coordinator.rewindDecision(
            primaryHistory: primaryHistory, primaryClusterID: clusterID, history: replication.history,
            lastWrittenLSN: wal.lastWrittenLSN) {
        case .cut(let forkPoint):
            rewind(keepThrough: forkPoint, primaryEpoch: primaryHistory.currentEpoch)
            return true
        case .keep(let reason):
            logger.error("the primary's DIVERGED reply cuts nothing here", metadata: ["reason": "\(reason)"])
            return false
        }
    }

    private func rewind(keepThrough forkPoint: LSN, primaryEpoch: Epoch) {
        if let channel = replication.primaryChannel {
            replication.primaryChannel = nil
            channel.close(promise: nil)
        }
        flush()
        let directory = configuration.dataDirectory
        do {
            wal.close()
            let report = try WALRewind.cutSuffix(
                dataDirectory: directory, keepThrough: forkPoint, cutByEpoch: primaryEpoch,
                nowUnixMilliseconds: WallClock.nowMilliseconds())
            let recovered = try Recovery.recover(dataDirectory: directory, logger: logger)
            wal = try WALWriter.open(
                dataDirectory: directory, after: recovered,
                configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
            let history = replication.history.truncated(after: recovered.lastLSN)
            try DurableStateFile.epochHistory.write(history.encode(), dataDirectory: directory)
            replication.history = history
            keyspace = recovered.keyspace
            keyspace.deletesExpiredKeys = false
            durableLSN = recovered.lastLSN
            restartGate(at: recovered.lastLSN)
            replication.bytesReportedWritten = wal.totalBytesWritten
            replication.standby = StandbyReplication(
                epoch: history.currentEpoch, history: history, lastLSN: recovered.lastLSN,
                lastRecordChecksum: recovered.lastRecordChecksum)
            replication.lastRewind = report
            statistics.rewoundRecords += Int64(report.recordCount)
            logger.critical("cut off this node's divergent records: they were never on the new primary", metadata: [
                "records": "\(report.recordCount)", "first_lsn": "\(report.firstLSN.map { "\($0)" } ?? "-")",
                "last_lsn": "\(report.lastLSN.map { "\($0)" } ?? "-")", "file": "\(report.path ?? "-")",
                "fork_lsn": "\(forkPoint)", "state_reset": "\(report.stateReset)",
                "set_aside_in": "\(report.discardedPath ?? "-")",
                "only_in_set_aside_snapshot": "\(report.snapshotOnlyLSNs.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "-")",
            ])
        } catch {
            logger.critical("rewind failed; this node refuses to replicate until restarted", metadata: ["error": "\(error)"])
            failWAL("rewind failed: \(error)")
            replication.linkStatus = "diverged"
            return
        }
        replication.linkStatus = "connecting"
        replication.nextConnectAtMilliseconds = 0
        replication.reconnectDelayMilliseconds = 100
    }
}
