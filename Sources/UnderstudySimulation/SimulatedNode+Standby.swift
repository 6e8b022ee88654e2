import UnderstudyCore

/// The standby's shell: connect, hand the stream to `StandbyReplication`, append what it
/// accepts, acknowledge what is durable, echo heartbeats the coordinator promises on, and
/// cut a divergent suffix on rejoin (reporting it as lost writes).
extension SimulatedNode {
    func connectToPrimary() {
        guard var current = standby else { return }
        guard let link = simulation.connect(from: index, to: peerIndex) else {
            connecting = true
            return
        }
        primaryLink = link
        let handshake = current.handshake(address: name)
        standby = current
        simulation.send(.handshake(handshake), on: link, from: index)
    }

    func connectFailed(refused: Bool) {
        connecting = false
        if refused { coordinator.primaryRefusedConnection() }
        primaryLinkFailed()
    }

    func primaryLinkFailed() {
        if let link = primaryLink { simulation.close(connection: link, by: index) }
        primaryLink = nil
        standby?.endStream()
        nextConnectAtMilliseconds = now + reconnectDelayMilliseconds
        reconnectDelayMilliseconds = min(reconnectDelayMilliseconds * 2, 1_000)
    }

    func receivedFromPrimary(_ message: SimulatedMessage) {
        guard standby != nil else { return }
        switch message {
        case .handshakeAnswer(.stream(let epoch, let from, let clusterID)):
            if let refusal = coordinator.primaryStreams(clusterID: clusterID) {
                simulation.checker.fail("\(name) refused a primary of its own cluster: \(refusal)", simulation)
                return
            }
            persistedClusterID = coordinator.clusterID
            reconnectDelayMilliseconds = 100
            perform(standby!.streamAccepted(epoch: epoch, from: from))
        case .handshakeAnswer(.diverged(let reason, let primaryHistory, let primaryLastLSN)):
            rejoin(reason: reason, primaryHistory: primaryHistory, primaryLastLSN: primaryLastLSN)
        case .handshakeAnswer(.refused(let message)):
            simulation.note("\(name): the primary refused the stream: \(message)")
            primaryLinkFailed()
        case .records(_, let records):
            receivedRecords(records)
        case .heartbeat(let epoch, let lastWrittenLSN, let sentAt):
            if let action = standby!.primaryHeartbeat(epoch: epoch, lastWrittenLSN: lastWrittenLSN, primaryTimeMilliseconds: sentAt,
                                                      nowMilliseconds: now) {
                perform(action)
                return
            }
            let promised = coordinator.primaryHeartbeat(epoch: epoch, nowMilliseconds: now)
            let echo = promised || (mutation == .echoDuringVote && coordinator.role == .standby && epoch >= coordinator.epoch)
            if echo, let link = primaryLink {
                simulation.send(.acknowledge(durable: nil, epoch: coordinator.epoch, echoedSentAtMilliseconds: sentAt), on: link, from: index)
            }
        case .closed:
            primaryLinkFailed()
        default:
            break
        }
    }

    private func receivedRecords(_ records: [SimulatedRecord]) {
        let decisions = standby!.receivedRecords(records.map(\.header))
        for decision in decisions {
            switch decision {
            case .adoptEpoch(let epoch, let firstLSN):
                history.begin(epoch: epoch, at: firstLSN)
                persistHistory()
            case .append(let range):
                for record in records[range] { append(record) }
            case .refuse(let reason):
                simulation.note("\(name) refuses records from the primary: \(reason)")
                primaryLinkFailed()
                return
            }
        }
    }

    func perform(_ action: StandbyAction?) {
        guard let action else { return }
        switch action {
        case .acknowledge(let durable, let epoch):
            guard let link = primaryLink else { return }
            simulation.send(.acknowledge(durable: durable, epoch: epoch, echoedSentAtMilliseconds: nil), on: link, from: index)
            perform(standby!.acknowledgementSent())
        case .disconnect(let reason):
            simulation.note("\(name) drops its link to the primary: \(reason)")
            primaryLinkFailed()
        }
    }

    /// The primary refused this node as diverged: cut the log after the last LSN both
    /// histories agree on (and the primary holds), keep the cut records as lost writes,
    /// truncate the history, and reconnect.
    private func rejoin(reason: String, primaryHistory: EpochHistory, primaryLastLSN: LSN) {
        let cutAfter = min(primaryHistory.forkPoint(with: history), primaryLastLSN)
        guard cutAfter < lastLSN else {
            simulation.checker.fail("\(name) was refused as diverged (\(reason)) but its log agrees with the primary's history up to its last LSN \(lastLSN): the rejoin rule cannot repair it", simulation)
            return
        }
        let lost = Array(log[Int(cutAfter.rawValue)...])
        log.removeLast(lost.count)
        history = history.truncated(after: cutAfter)
        persistHistory()
        syncLogNow()
        let report = LostWritesReport(node: name, trueMilliseconds: simulation.now / 1_000, records: lost)
        simulation.checker.reported(report)
        simulation.statistics.lostWritesReported += lost.count
        simulation.note("\(name) rejoins: cut \(lost.count) records (LSN \(lost[0].lsn)...\(lastLSN.next.rawValue + UInt64(lost.count) - 1)) after LSN \(cutAfter): \(reason)")
        standby = StandbyReplication(epoch: max(coordinator.epoch, history.currentEpoch), history: history, lastLSN: lastLSN,
                                     lastRecordChecksum: log.last?.checksum)
        primaryLinkFailed()
        nextConnectAtMilliseconds = now
    }
}
