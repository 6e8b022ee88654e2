/// The standby's side: the link to the primary with its backoff, the handshake's answer,
/// records, heartbeats (the promise), snapshots and rejoin.
extension DataNode {
    /// Dials the primary when the standby has no link and its backoff has run out.
    mutating func connectIfDue(now: Int64) -> [NodeAction] {
        guard !isStopping, let standby, standby.link == .down, now >= standby.nextConnectAtMilliseconds else { return [] }
        withStandby { $0.link = .dialing }
        return [.connectToPrimary]
    }

    /// The dialled connection is up as link `id`: the handshake to send, or nil if the node
    /// dialled for nothing (it no longer follows, or already has a link): the shell closes
    /// that connection and keeps the one it has.
    public mutating func primaryLinkOpened(link id: UInt64) -> [NodeAction]? {
        guard standby?.link == .dialing else { return nil }
        let address = node
        let clusterID = coordinator?.clusterID
        let handshake = withStandby { standby -> StandbyHandshake in
            standby.link = .handshake(id: id)
            return standby.replication.handshake(address: address, clusterID: clusterID)
        }!
        return [.sendHandshake(handshake)]
    }

    /// The link failed (or could not be made: `refused` when the primary's address refused
    /// the connection — its process is gone, a faster signal than the failure timeout).
    /// Reconnects after a backoff that doubles up to two seconds.
    public mutating func primaryLinkFailed(_ reason: String, refused: Bool = false, nowMilliseconds now: Int64) -> [NodeAction] {
        if refused { withCoordinator { $0.primaryRefusedConnection() } }
        guard let standby, standby.link != .down else { return [] }
        let hadLink = standby.link.id != nil
        let delay = standby.reconnectDelayMilliseconds
        withStandby {
            $0.link = .down
            $0.nextConnectAtMilliseconds = now + delay
            $0.reconnectDelayMilliseconds = min(delay * 2, Self.maxReconnectDelayMilliseconds)
            $0.replication.endStream()
        }
        var actions: [NodeAction] = [.note(NodeNote(.warning, "replication link down; reconnecting", [
            "reason": reason, "retry_in_ms": "\(delay)",
        ]))]
        if hadLink { actions.append(.closePrimaryLink(reason: reason)) }
        return actions
    }

    /// Link `id` closed.
    public mutating func primaryLinkClosed(link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard standby?.link.id == id else { return [] }
        return primaryLinkFailed("the primary closed the connection", nowMilliseconds: now)
    }

    /// The primary's answer to the handshake on link `id`.
    public mutating func primaryAnswered(_ answer: HandshakeAnswer, link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard let standby, case .handshake(id) = standby.link else { return [] }
        switch answer {
        case .stream(let primaryEpoch, let from, let clusterID):
            if let refusal = followRefusal(clusterID: clusterID) {
                return refused(refusal, now: now)
            }
            // The epoch it streams in is one it knows from now on (a forced promotion says
            // which epoch it knew: finding H), even before the first heartbeat comes.
            let peer = configuration.pair?.peer
            var actions = persistIdentityIfLearned()
            actions += coordinate(withCoordinator { $0.observed(epoch: primaryEpoch, primary: peer, nowMilliseconds: now) } ?? [], now: now)
            let action = withStandby { standby -> StandbyAction in
                standby.link = .streaming(id: id)
                standby.diverged = false
                standby.reconnectDelayMilliseconds = Self.initialReconnectDelayMilliseconds
                return standby.replication.streamAccepted(epoch: primaryEpoch, from: from)
            }!
            lastRefusal = nil
            actions.append(.note(NodeNote(.info, "streaming from the primary", ["from_lsn": "\(from)", "epoch": "\(primaryEpoch)"])))
            return actions + perform(action, now: now)
        case .snapshot(let primaryEpoch, let lsn, let bytes, let snapshotEpoch, let primaryHistory, let clusterID):
            if let refusal = followRefusal(clusterID: clusterID) {
                return refused(refusal, now: now)
            }
            let offer = SnapshotOffer(lsn: lsn, snapshotEpoch: snapshotEpoch, primaryEpoch: primaryEpoch, history: primaryHistory)
            withStandby { $0.link = .snapshot(id: id, offer: offer) }
            return persistIdentityIfLearned() + [
                .note(NodeNote(.info, "receiving a snapshot from the primary", ["lsn": "\(lsn)", "bytes": "\(bytes)"])),
                .receiveSnapshot(lsn: lsn, bytes: bytes),
            ]
        case .diverged(let primaryHistory, let clusterID, _):
            lastRefusal = answer.line.text
            let decision = coordinator?.rewindDecision(
                primaryHistory: primaryHistory, primaryClusterID: clusterID, history: history, lastWrittenLSN: log.written)
                ?? .keep("without a witness this node cuts nothing: restart it with an emptied data directory")
            switch decision {
            case .cut(let forkPoint):
                withStandby { $0.link = .down }
                return [.closePrimaryLink(reason: "cutting the divergent records"),
                        .cutLog(after: forkPoint, byEpoch: primaryHistory.currentEpoch)]
            case .keep(let reason):
                withStandby { $0.diverged = true }
                return [.note(NodeNote(.error, "the primary refused this standby: its log diverged; nothing conflicting is applied", [
                    "reason": answer.line.text, "kept_because": reason,
                ]))] + primaryLinkFailed(answer.line.text, nowMilliseconds: now)
            }
        case .refused(let text):
            return refused(text, now: now)
        }
    }

    private mutating func refused(_ reason: String, now: Int64) -> [NodeAction] {
        lastRefusal = reason
        return [.note(NodeNote(.warning, "the primary refused the stream", ["reason": reason]))]
            + primaryLinkFailed(reason, nowMilliseconds: now)
    }

    /// Why this standby may not follow a primary of cluster `clusterID`, or nil (a node
    /// without an identity learns the primary's).
    private mutating func followRefusal(clusterID: String?) -> String? {
        withCoordinator { $0.primaryStreams(clusterID: clusterID) } ?? nil
    }

    private mutating func persistIdentityIfLearned() -> [NodeAction] {
        guard let learned = coordinator?.clusterID, learned != persistedClusterID else { return [] }
        persistedClusterID = learned
        return [.persistClusterIdentity(learned), .note(NodeNote(.info, "this node belongs to cluster \(learned)"))]
    }

    /// A records frame on link `id`: which of its records to append (`.appendReceived`),
    /// which epochs to adopt first (`.persistHistory`), or a refusal that drops the link.
    public mutating func receivedRecords(_ headers: [RecordHeader], link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard case .streaming(id)? = standby?.link else { return [] }
        guard logFailure == nil else { return primaryLinkFailed("this node's log has failed: it appends nothing", nowMilliseconds: now) }
        guard diskFull == nil else { return primaryLinkFailed("this node's disk is full: it appends nothing until space returns", nowMilliseconds: now) }
        let decisions = withStandby { $0.replication.receivedRecords(headers) } ?? []
        var actions: [NodeAction] = []
        for decision in decisions {
            switch decision {
            case .adoptEpoch(let newEpoch, let firstLSN):
                history.begin(epoch: newEpoch, at: firstLSN)
                actions.append(.persistHistory(history))
            case .append(let range):
                guard !range.isEmpty else { continue }
                actions.append(.appendReceived(range))
            case .refuse(let reason):
                lastRefusal = reason
                actions.append(.note(NodeNote(.error, "refused records from the primary", ["reason": reason])))
                return actions + primaryLinkFailed(reason, nowMilliseconds: now)
            }
        }
        return actions
    }

    /// A heartbeat from the primary on link `id`: the stream's bookkeeping, then the echo
    /// if the coordinator makes the promise.
    public mutating func primaryHeartbeat(epoch heartbeatEpoch: Epoch, lastWrittenLSN: LSN, primaryTimeMilliseconds: Int64,
                                          sentAtMilliseconds sentAt: Int64, leaseMilliseconds: Int64?, link id: UInt64,
                                          nowMilliseconds now: Int64) -> [NodeAction] {
        guard let link = standby?.link, link.id == id else { return [] }
        if let action = withStandby({
            $0.replication.primaryHeartbeat(epoch: heartbeatEpoch, lastWrittenLSN: lastWrittenLSN,
                                            primaryTimeMilliseconds: primaryTimeMilliseconds, nowMilliseconds: now)
        }) ?? nil {
            return perform(action, now: now)
        }
        guard coordinator != nil else { return [] }
        let promised = withCoordinator {
            $0.primaryHeartbeat(epoch: heartbeatEpoch, primaryLeaseMilliseconds: leaseMilliseconds, nowMilliseconds: now)
        } ?? false
        let echo = promised || (configuration.mutation == .echoDuringVote && coordinator?.role == .standby
            && heartbeatEpoch >= coordinator?.epoch ?? heartbeatEpoch)
        return persistKnownEpochIfRaised() + (echo ? [.echoHeartbeat(epoch: heartbeatEpoch, sentAtMilliseconds: sentAt)] : [])
    }

    /// `HANDOVER <newEpoch>` on link `id`: the primary hands over (a planned switchover).
    public mutating func handoverOffered(epoch newEpoch: Epoch, link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard standby?.link.id == id, coordinator != nil else { return [] }
        let durable = log.durable, durableEpoch = recordEpoch(at: durable)
        let decided = withCoordinator {
            $0.handoverOffered(epoch: newEpoch, durableLSN: durable, durableEpoch: durableEpoch, nowMilliseconds: now)
        } ?? []
        return [.note(NodeNote(.notice, "the primary hands over: taking the next epoch", ["epoch": "\(newEpoch)"])),
                .event(NodeEvent(.handoverOffered, epoch: newEpoch, reason: "the primary hands over (planned switchover): asking the witness for epoch \(newEpoch)",
                                 ["durable_lsn": "\(durable)"]))]
            + coordinate(decided, now: now)
    }

    /// The snapshot announced on link `id` is installed: the log now ends at its LSN.
    /// `lastRecordChecksum`: the snapshot header's checksum of its last record (nil: an
    /// older snapshot without it).
    public mutating func snapshotInstalled(link id: UInt64, lastRecordChecksum: UInt32?, nowMilliseconds now: Int64) -> [NodeAction] {
        guard case .snapshot(id, let offer)? = standby?.link else { return [] }
        let installed: Result<StandbyAction, any Error> = withStandby { standby in
            Result {
                try standby.replication.snapshotInstalled(lsn: offer.lsn, epoch: offer.snapshotEpoch, history: offer.history,
                                                          lastRecordChecksum: lastRecordChecksum)
                standby.link = .streaming(id: id)
                standby.reconnectDelayMilliseconds = Self.initialReconnectDelayMilliseconds
                return standby.replication.streamAccepted(epoch: offer.primaryEpoch, from: offer.lsn.next)
            }
        }!
        switch installed {
        case .failure(let error):
            return primaryLinkFailed("snapshot install failed: \(error)", nowMilliseconds: now)
        case .success(let action):
            history = standby!.replication.history
            log = LogPosition(appended: offer.lsn, written: offer.lsn, durable: offer.lsn, lastRecordChecksum: lastRecordChecksum)
            gate.restart(at: max(gate.acknowledgedLSN, offer.lsn))
            return [.persistHistory(history),
                    .note(NodeNote(.warning, "installed the primary's snapshot", ["lsn": "\(offer.lsn)"]))]
                + perform(action, now: now)
        }
    }

    /// After `.cutLog`: the log was recovered and now ends at `lastLSN`.
    public mutating func logReplaced(lastLSN: LSN, lastRecordChecksum: UInt32?, nowMilliseconds now: Int64) -> [NodeAction] {
        log = LogPosition(appended: lastLSN, written: lastLSN, durable: lastLSN, lastRecordChecksum: lastRecordChecksum)
        gate.restart(at: lastLSN)
        history = history.truncated(after: lastLSN)
        role = .standby(StandbyRole(replication: StandbyReplication(
            epoch: history.currentEpoch, history: history, lastLSN: lastLSN, lastRecordChecksum: lastRecordChecksum)))
        return [.persistHistory(history)] + connectIfDue(now: now)
    }

    /// `.cutLog` failed: the node refuses to replicate until restarted.
    public mutating func rewindFailed(_ reason: String) -> [NodeAction] {
        withStandby { $0.diverged = true }
        return logFailed("rewind failed: \(reason)")
    }

    /// Carries out the standby machine's action.
    mutating func perform(_ action: StandbyAction?, now: Int64) -> [NodeAction] {
        guard let action else { return [] }
        switch action {
        case .acknowledge(let durable, let ackEpoch):
            guard case .streaming? = standby?.link else { return [] }
            let next = withStandby { $0.replication.acknowledgementSent() } ?? nil
            return [.sendAcknowledgement(durable: durable, epoch: ackEpoch)] + perform(next, now: now)
        case .disconnect(let reason):
            return primaryLinkFailed(reason, nowMilliseconds: now)
        }
    }
}
