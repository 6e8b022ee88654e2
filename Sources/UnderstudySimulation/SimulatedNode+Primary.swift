import UnderstudyCore

/// The primary's shell: admission, appending, releasing replies only under the lease,
/// streaming to the standby.
extension SimulatedNode {
    func clientWrote(value: UInt64, operation: UInt64, client: Int) {
        let write = HeldWrite(lsn: .zero, value: value, operation: operation, client: client)
        guard coordinator.role == .primary, let current = primary, current.steppedDownForEpoch == nil else {
            answer(write, .redirect)
            return
        }
        guard coordinator.hasLease(nowMilliseconds: now) || mutation == .ignoreLease else {
            answer(write, .failed("NOLEASE this primary does not hold its lease"))
            return
        }
        if case .refuse(let message) = current.admitWrite(lastAppendedLSN: lastLSN) {
            answer(write, .failed(message))
            return
        }
        let record = SimulatedRecord(lsn: lastLSN.next, epoch: current.epoch, value: value)
        guard history.epoch(at: record.lsn) == current.epoch else {
            simulation.checker.fail("\(name) would write LSN \(record.lsn) in epoch \(current.epoch) but its history \(history) disagrees", simulation)
            return
        }
        append(record)
        heldWrites.append(HeldWrite(lsn: record.lsn, value: value, operation: operation, client: client))
        perform(primary!.recordWritten(record.lsn, bytes: SimulatedRecord.frameBytes, nowMilliseconds: now))
    }

    func perform(_ actions: [PrimaryAction]) {
        for action in actions {
            switch action {
            case .release(let upTo):
                _ = gate.releasable(upTo: upTo, mayAcknowledge: mayAcknowledge)
                flushReleasedWrites()
            case .failWaiting(let after, let through, let message):
                let floor = mutation == .releasePastTheGate ? after : gate.failureFloor(requested: after)
                if mutation == .releasePastTheGate, let current = primary {
                    let released = heldWrites.prefix { $0.lsn <= floor }
                    for write in released {
                        simulation.checker.acknowledged(write, epoch: current.epoch, by: self,
                                                        holdsLease: coordinator.hasLease(nowMilliseconds: now), simulation: simulation)
                        answer(write, .acknowledged(lsn: write.lsn))
                    }
                    heldWrites.removeFirst(released.count)
                }
                let failing = heldWrites.filter { $0.lsn > floor && $0.lsn <= through }
                heldWrites.removeAll { $0.lsn > floor && $0.lsn <= through }
                for write in failing { answer(write, .failed(message)) }
            case .stepDown(let seenEpoch):
                simulation.note("\(name) steps down on seeing epoch \(seenEpoch)")
                perform(coordinator.observed(epoch: seenEpoch, primary: nil, nowMilliseconds: now))
            case .sendRecords(let from, let maxBytes):
                sendRecords(from: from, maxBytes: maxBytes)
            case .completeWait:
                break
            case .disconnectStandby(let reason):
                simulation.note("\(name) disconnects its standby: \(reason)")
                if let link = standbyLink { simulation.close(connection: link, by: index) }
                standbyDetached()
            }
        }
    }

    /// Whether this primary may acknowledge now (the mutation `ignore-lease` says always).
    var mayAcknowledge: Bool { coordinator.hasLease(nowMilliseconds: now) || mutation == .ignoreLease }

    /// Replies the core released go out only while this node holds its lease (the gate).
    func flushReleasedWrites() {
        guard !heldWrites.isEmpty, coordinator.role == .primary, let current = primary, mayAcknowledge else { return }
        _ = gate.mayAcknowledgeAgain()
        let holdsLease = coordinator.hasLease(nowMilliseconds: now)
        let released = heldWrites.prefix { $0.lsn <= gate.acknowledgedLSN }
        for write in released {
            simulation.checker.acknowledged(write, epoch: current.epoch, by: self, holdsLease: holdsLease, simulation: simulation)
            answer(write, .acknowledged(lsn: write.lsn))
        }
        heldWrites.removeFirst(released.count)
    }

    private func sendRecords(from: LSN, maxBytes: Int) {
        guard let link = standbyLink, let current = primary, from <= lastLSN, from >= LSN(1) else { return }
        var batch: [SimulatedRecord] = []
        var bytes = 0
        var lsn = from
        while lsn <= lastLSN, batch.isEmpty || bytes + SimulatedRecord.frameBytes <= maxBytes {
            batch.append(log[Int(lsn.rawValue) - 1])
            bytes += SimulatedRecord.frameBytes
            lsn = lsn.next
        }
        simulation.send(.records(epoch: current.epoch, batch), on: link, from: index)
        perform(primary!.recordsSent(upTo: batch[batch.count - 1].lsn, bytes: bytes))
    }

    func standbyDetached() {
        standbyLink = nil
        standbyLinkStreaming = false
        primary?.standbyDetached(nowMilliseconds: now)
    }

    /// A standby's `REPLICATE`.
    func receivedHandshake(_ handshake: StandbyHandshake, on link: Int) {
        guard coordinator.role == .primary, var current = primary else {
            simulation.send(.handshakeAnswer(.refused("READONLY not the primary")), on: link, from: index)
            simulation.close(connection: link, by: index)
            return
        }
        let log = self.log
        let facts = PrimaryLogFacts(lastWrittenLSN: lastLSN, oldestRetainedLSN: LSN(1), newestSnapshotLSN: nil,
                                    checksumOfRecord: { lsn in
                                        lsn >= LSN(1) && lsn.rawValue <= UInt64(log.count) ? log[Int(lsn.rawValue) - 1].checksum : nil
                                    })
        let decision = current.standbyHandshake(handshake, facts: facts)
        primary = current
        switch decision {
        case .stream(let from):
            if mutation != .reseededStaysInSync {
                coordinator.standbyAttached(standbyLastLSN: handshake.lastLSN, commitLSN: current.commitLSN)
            }
            if let old = standbyLink, old != link { simulation.close(connection: old, by: index) }
            standbyLink = link
            standbyLinkStreaming = true
            simulation.send(.handshakeAnswer(.stream(epoch: current.epoch, from: from, clusterID: coordinator.clusterID)),
                            on: link, from: index)
            perform(primary!.readyToStream())
        case .refuseDiverged(let reason):
            simulation.note("\(name) refuses its standby as diverged: \(reason)")
            simulation.send(.handshakeAnswer(.diverged(reason: reason, primaryHistory: history, primaryLastLSN: lastLSN)), on: link, from: index)
            simulation.close(connection: link, by: index)
        case .refuseUnavailable(let reason):
            simulation.send(.handshakeAnswer(.refused("ERR \(reason)")), on: link, from: index)
            simulation.close(connection: link, by: index)
        case .sendSnapshot:
            simulation.checker.fail("\(name) chose a snapshot though it retains its whole log", simulation)
        case .stepDown(let seenEpoch):
            simulation.send(.handshakeAnswer(.refused("EPOCH \(seenEpoch)")), on: link, from: index)
            simulation.close(connection: link, by: index)
            perform(primary!.receivedHigherEpoch(seenEpoch))
        }
    }

    /// A message from the standby on its link.
    func receivedFromStandby(_ message: SimulatedMessage) {
        switch message {
        case .acknowledge(let durable, let epoch, let echoed):
            if let durable, primary != nil {
                coordinator.standbyHeard(nowMilliseconds: now)
                perform(primary!.standbyAcknowledged(durableLSN: durable, epoch: epoch, nowMilliseconds: now))
            }
            if let echoed {
                perform(coordinator.standbyEchoedHeartbeat(sentAtMilliseconds: echoed, epoch: epoch, nowMilliseconds: now))
            }
        case .closed:
            standbyDetached()
        default:
            break
        }
    }

    /// Every message on a connection, by which link it arrived on.
    func receive(_ message: SimulatedMessage, on link: Int) {
        if case .handshake(let handshake) = message {
            receivedHandshake(handshake, on: link)
        } else if link == standbyLink {
            receivedFromStandby(message)
        } else if link == primaryLink {
            receivedFromPrimary(message)
        }
    }
}
