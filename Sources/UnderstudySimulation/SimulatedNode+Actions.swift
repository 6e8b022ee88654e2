import UnderstudyCore

/// The interpreter: one switch over `NodeAction`, carried out in order over the simulated
/// log, disk and connections (NodeAction.swift states the ordering obligations). A report
/// an action calls for (`recordsSent`, `logReplaced`, `primaryLinkOpened`) is fed back at
/// once and its actions carried out before the rest of the list, as a direct call would.
extension SimulatedNode {
    func perform(_ actions: [NodeAction]) {
        for action in actions {
            // A violation ends the run: nothing more is carried out.
            guard simulation.checker.violation == nil else { return }
            // Persist before send: a sync of a failed log fails, and the rest is dropped.
            if case .syncLog = action, logBroken { return }
            perform(action)
        }
    }

    private func perform(_ action: NodeAction) {
        switch action {
        // Durable state: the sim's disk writes are synchronous, so each is durable before
        // the next action.
        case .syncLog:
            syncLogNow()
        case .persistHistory(let history):
            persistedHistory = history  // the highest epoch has its own file (`.persistKnownEpoch`), as in production
        case .persistClusterIdentity(let clusterID):
            persistedClusterID = clusterID
        case .persistKnownEpoch(let known):
            persistedEpoch = max(persistedEpoch, known)
        case .cutLog(let after, let byEpoch):
            cutLog(after: after, byEpoch: byEpoch)
        case .appendReceived(let range):
            for record in receivedBatch[range] { append(record) }

        // Replies.
        case .release(let upTo):
            release(upTo: upTo)
        case .fail(let after, let through, let message):
            fail(after: after, through: through, message: message)
        case .completeWait:
            break  // the sim's clients send no WAIT

        // Links.
        case .askWitness(let request):
            askWitness(request)
        case .sendHeartbeat(let epoch, let lastWrittenLSN, let sentAt, let leaseMilliseconds):
            sendToStandby(.heartbeat(epoch: epoch, lastWrittenLSN: lastWrittenLSN, sentAtMilliseconds: sentAt,
                                     leaseMilliseconds: leaseMilliseconds))
        case .sendRecords(let from, let maxBytes):
            sendRecords(from: from, maxBytes: maxBytes)
        case .sendHandover(_, let newEpoch):
            sendToStandby(.handover(newEpoch: newEpoch))
            closeStandbyConnection()
        case .closeStandbyLink:
            closeStandbyConnection()
        case .fencePeer(let epoch, let clusterID, let forcedFrom):
            // Production sends it over the peer's client port; the sim as a datagram (`--fence`).
            if simulation.options.fence {
                simulation.statistics.fencesSent += 1
                simulation.sendDatagram(from: index, to: peerIndex, .fence(epoch: epoch, primary: name, clusterID: clusterID, forcedFrom: forcedFrom))
            }
        case .connectToPrimary:
            connectToPrimary()
        case .sendHandshake(let handshake):
            sendToPrimary(.handshake(handshake))
        case .receiveSnapshot(let lsn, _):
            // It follows the answer on the ordered connection (`installSnapshot`).
            simulation.note("\(name) receives the primary's snapshot at LSN \(lsn)")
        case .sendAcknowledgement(let durable, let epoch):
            sendToPrimary(.acknowledge(durable: durable, epoch: epoch, echoedSentAtMilliseconds: nil))
        case .echoHeartbeat(let epoch, let sentAt):
            sendToPrimary(.acknowledge(durable: nil, epoch: epoch, echoedSentAtMilliseconds: sentAt))
        case .closePrimaryLink:
            if let connection = primaryConnection { simulation.close(connection: connection, by: index) }
            primaryConnection = nil

        // Role.
        case .firstWriteAcknowledged:
            break  // production's INFO timeline; the checker sees every acknowledgement itself
        case .becamePrimary(let epoch, let alone, _):
            simulation.statistics.promotions += 1
            simulation.note("\(name) becomes primary of epoch \(epoch) (acknowledge alone: \(alone), last LSN \(lastLSN))")
            simulation.checker.becamePrimary(self, epoch: epoch, simulation: simulation)
        case .becameStandby(let epoch, let primary, _):
            simulation.note("\(name) becomes standby in epoch \(epoch) of primary \(primary ?? "?") (last LSN \(lastLSN))")
        case .steppedDown(let seenEpoch):
            simulation.note("\(name) steps down on seeing epoch \(seenEpoch)")
        case .switchoverEnded(let outcome):
            if case .done = outcome {
                if termination == .handingOver { simulation.statistics.terminationHandovers += 1 } else {
                    simulation.statistics.switchoversDone += 1
                }
            }
            simulation.note("\(name): switchover ended: \(outcome)")
            runWritesHeldForSwitchover()
            if termination == .handingOver { drain() }
        case .forcedPromotionEnded(let outcome):
            simulation.note("\(name): forced promotion ended: \(outcome)")
            if case .done = outcome {
                simulation.statistics.forcedPromotionsDone += 1
                simulation.checker.forcedPromotionTookOver(simulation)
            }
        case .event(let event):
            simulation.note("\(name) event \(event.kind.rawValue) epoch \(event.epoch.map { "\($0)" } ?? "-"): \(event.reason)")
        case .note(let note):
            simulation.note("\(name) [\(note.level)] \(note.message)\(note.metadata.isEmpty ? "" : " \(note.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")")
        }
    }

    // MARK: Replies

    /// Answers every held write up to `upTo` as acknowledged.
    private func release(upTo: LSN) {
        let released = heldWrites.prefix { $0.lsn <= upTo }
        guard !released.isEmpty else { return }
        let holdsLease = coordinator.hasLease(nowMilliseconds: now)
        let epoch = node.primary?.replication.epoch ?? node.epoch
        let ownDiskOnly = simulation.options.mode == .async || node.primary?.replication.acknowledgesAlone != false
        for write in released {
            if write.isRead {
                answerRead(write)
                continue
            }
            simulation.checker.acknowledged(write, epoch: epoch, by: self, holdsLease: holdsLease, ownDiskOnly: ownDiskOnly,
                                            simulation: simulation)
            answer(write, .acknowledged(lsn: write.lsn))
        }
        heldWrites.removeFirst(released.count)
    }

    /// Fails the held writes in `after+1 ... through`.
    private func fail(after: LSN, through: LSN, message: String) {
        let failing = heldWrites.filter { $0.lsn > after && $0.lsn <= through }
        guard !failing.isEmpty else { return }
        heldWrites.removeAll { $0.lsn > after && $0.lsn <= through }
        for write in failing { answer(write, .failed(message)) }
    }

    // MARK: Links

    private func sendToStandby(_ message: SimulatedMessage) {
        guard let connection = standbyConnection else { return }
        simulation.send(message, on: connection, from: index)
    }

    private func sendToPrimary(_ message: SimulatedMessage) {
        guard let connection = primaryConnection else { return }
        simulation.send(message, on: connection, from: index)
    }

    private func closeStandbyConnection() {
        if let connection = standbyConnection { simulation.close(connection: connection, by: index) }
        standbyConnection = nil
    }

    /// Whole records from `from`, at most `maxBytes` of them (the first whatever its size).
    private func sendRecords(from: LSN, maxBytes: Int) {
        guard from >= retainedFromLSN else {
            simulation.checker.fail("\(name) was told to send records from LSN \(from), but its WAL starts at \(retainedFromLSN) (snapshot at \(snapshotLSN.map { "\($0)" } ?? "none"))", simulation)
            return
        }
        guard from >= LSN(1), from <= lastLSN else {
            simulation.checker.fail("Internal inconsistency: \(name) was told to send records from LSN \(from), but its log ends at \(lastLSN)", simulation)
            return
        }
        var batch: [SimulatedRecord] = []
        var bytes = 0
        var lsn = from
        while lsn <= lastLSN, batch.isEmpty || bytes + SimulatedRecord.frameBytes <= maxBytes {
            batch.append(log[Int(lsn.rawValue) - 1])
            bytes += SimulatedRecord.frameBytes
            lsn = lsn.next
        }
        sendToStandby(.records(batch))
        perform(node.recordsSent(upTo: batch[batch.count - 1].lsn, bytes: bytes, nowMilliseconds: now))
    }

    private func connectToPrimary() {
        dialAttempt += 1
        guard let connection = simulation.connect(from: index, to: peerIndex, attempt: dialAttempt) else { return }
        guard let actions = node.primaryLinkOpened(link: UInt64(connection)) else {
            simulation.close(connection: connection, by: index)  // dialled for nothing
            return
        }
        primaryConnection = connection
        perform(actions)
    }

    // MARK: Rejoin

    /// Cuts the log after `after` — the cut records are reported as lost writes (durable
    /// before the cut: the checker has them at once) — syncs, and reports the new log.
    private func cutLog(after: LSN, byEpoch: Epoch) {
        guard after < lastLSN else {
            simulation.checker.fail("Internal inconsistency: \(name) was told to cut its log after LSN \(after), but it ends at \(lastLSN)", simulation)
            return
        }
        let lost = Array(log[Int(after.rawValue)...])
        log.removeLast(lost.count)
        snapshotsAfterCut(keepingThrough: after)
        syncLogNow()
        let report = LostWritesReport(node: name, trueMilliseconds: simulation.now / 1_000, records: lost)
        simulation.checker.reported(report)
        simulation.statistics.lostWritesReported += lost.count
        simulation.note("\(name) rejoins the primary of epoch \(byEpoch): cut \(lost.count) records (LSN \(lost[0].lsn)...\(lost[lost.count - 1].lsn)) after LSN \(after)")
        perform(node.logReplaced(lastLSN: lastLSN, lastRecordChecksum: log.last?.checksum, nowMilliseconds: now))
    }
}
