/// The primary's side: its replication machine's actions through the gate, standby
/// handshakes and links, WAIT.
extension DataNode {
    /// Turns the primary machine's actions into the node's, in order.
    mutating func perform(_ actions: [PrimaryAction], now: Int64) -> [NodeAction] {
        var out: [NodeAction] = []
        for action in actions {
            switch action {
            case .release(let lsn):
                // Without a lease the replies wait (the lease's return releases them) or fail on step-down.
                out += release(upTo: lsn, mayAcknowledge: mayAcknowledge(nowMilliseconds: now))
                out += continueHandover(now: now)
            case .failWaiting(let after, let through, let message):
                out.append(.note(NodeNote(.warning, "failing the replies of writes not acknowledged", [
                    "after_lsn": "\(after)", "through_lsn": "\(through)", "reply": message,
                ])))
                if configuration.mutation == .releasePastTheGate {
                    out.append(.release(upTo: after))
                    out.append(.fail(after: after, through: through, message: message))
                } else {
                    out.append(fail(after: after, through: through, message: message))
                }
            case .stepDown(let seenEpoch):
                if primary?.supersededBy == nil {
                    withPrimary { $0.supersededBy = seenEpoch }
                    out.append(.steppedDown(seenEpoch: seenEpoch))
                    out.append(.event(NodeEvent(.steppedDown, epoch: seenEpoch,
                                                reason: "a higher epoch \(seenEpoch) exists: this primary of epoch \(epoch) accepts no more writes")))
                    out.append(.note(NodeNote(.critical, "a higher epoch exists: this node stops accepting writes", [
                        "epoch": "\(epoch)", "seen_epoch": "\(seenEpoch)",
                    ])))
                }
                if let actions = withCoordinator({ $0.observed(epoch: seenEpoch, primary: nil, nowMilliseconds: now) }) {
                    out += coordinate(actions, now: now)
                }
            case .sendRecords(let from, let maxBytes):
                out.append(.sendRecords(from: from, maxBytes: maxBytes))
            case .completeWait(let connection, let replicas):
                out.append(.completeWait(connection: connection, replicas: replicas))
            case .disconnectStandby(let reason):
                out.append(.note(NodeNote(.warning, "closing the standby's connection", ["reason": reason])))
                out += detachStandby(reason: reason, now: now)
            }
        }
        return out
    }

    /// Closes and forgets the standby's link.
    mutating func detachStandby(reason: String, now: Int64) -> [NodeAction] {
        guard primary?.standbyLink != nil else { return [] }
        withPrimary {
            $0.standbyLink = nil
            $0.replication.standbyDetached(nowMilliseconds: now)
        }
        return [.closeStandbyLink(reason: reason)]
    }

    // MARK: Handshake

    /// What to answer a standby's `REPLICATE`.
    public enum HandshakeOutcome: Hashable, Sendable {
        /// Answer this (`+STREAM`); the link carries replication from now on. Report
        /// `standbyReadyToStream` once the answer is written.
        case stream(HandshakeAnswer)
        /// Send the newest snapshot, at `lsn` (the shell builds the `+SNAPSHOT` answer from
        /// the file; if it cannot, report `snapshotUnavailable`).
        case snapshot(lsn: LSN)
        /// Answer this and close the connection.
        case refuse(HandshakeAnswer)
    }

    /// A standby's `REPLICATE` on link `id`, with the facts of this node's WAL files.
    public mutating func standbyHandshake(_ handshake: StandbyHandshake, link id: UInt64, facts: PrimaryLogFacts,
                                          nowMilliseconds now: Int64) -> (HandshakeOutcome, [NodeAction]) {
        guard primary != nil else {
            let reason: String
            switch role {
            case .standalone: reason = "ERR this node has no --peer: it does not replicate"
            case .undecided: reason = "TRYAGAIN this node has not yet heard from the witness which role it has"
            case .standby, .primary: reason = "READONLY this node is a standby; its primary is \(configuration.pair?.peer ?? "unknown")"
            }
            return (.refuse(.refused(reason)), [])
        }
        if let refusal = coordinator?.identityRefusal(ofPeerClaiming: handshake.clusterID) {
            return (.refuse(.refused("ERR \(refusal)")), [.note(NodeNote(.error, "refused a standby of another cluster", [
                "standby": handshake.standbyAddress, "reason": refusal,
            ]))])
        }
        if let base = coordinator?.unconfirmedForcedFromEpoch,
           let newer = handshake.history.entries.map(\.epoch).first(where: { $0 > base && $0 < epoch }) {
            // Forced without the witness, this node yields to an epoch made since (finding H):
            // it must not make this standby cut records that epoch's primary may have
            // acknowledged. The witness decides which of the two goes on.
            let reason = "TRYAGAIN this primary was forced without the witness from epoch \(base); the standby holds epoch \(newer), made since: the witness decides which goes on"
            return (.refuse(.refused(reason)), [.note(NodeNote(.warning, "refused a standby holding an epoch made after this forced promotion", [
                "standby": handshake.standbyAddress, "forced_from_epoch": "\(base)", "standby_epoch": "\(newer)",
            ]))])
        }
        let decision = withPrimary { $0.replication.standbyHandshake(handshake, facts: facts) }!
        var actions: [NodeAction] = []
        switch decision {
        case .stream, .sendSnapshot:
            // A standby that comes back below what was acknowledged (re-seeded, say) does not
            // hold every acknowledged write: it is recorded out of sync before it counts.
            if configuration.mutation != .reseededStaysInSync {
                let commit = gate.acknowledgedLSN
                withCoordinator { $0.standbyAttached(standbyLastLSN: handshake.lastLSN, commitLSN: commit) }
            }
            // A new handshake replaces the old link.
            if primary?.standbyLink != nil {
                withPrimary { $0.standbyLink = nil }
                actions.append(.closeStandbyLink(reason: "the standby attached again"))
            }
            withPrimary { $0.standbyLink = (id, handshake.standbyAddress) }
        case .refuseDiverged, .refuseUnavailable, .stepDown:
            break
        }
        switch decision {
        case .stream(let from):
            actions.append(.note(NodeNote(.info, "standby attached", [
                "standby": handshake.standbyAddress, "from_lsn": "\(from)", "standby_lsn": "\(handshake.lastLSN)",
            ])))
            return (.stream(.stream(epoch: epoch, from: from, clusterID: coordinator?.clusterID)), actions)
        case .sendSnapshot(let lsn):
            actions.append(.note(NodeNote(.info, "standby needs a snapshot: sending it", [
                "standby": handshake.standbyAddress, "snapshot_lsn": "\(lsn)",
            ])))
            return (.snapshot(lsn: lsn), actions)
        case .refuseDiverged(let reason):
            // Our history lets the standby find the fork point and cut off what follows it.
            return (.refuse(.diverged(history: history, clusterID: coordinator?.clusterID, reason: reason)), [
                .note(NodeNote(.error, "standby refused: its log diverged from ours", ["standby": handshake.standbyAddress, "reason": reason])),
            ])
        case .refuseUnavailable(let reason):
            return (.refuse(.refused("ERR \(reason)")), [])
        case .stepDown(let seenEpoch):
            let ownEpoch = epoch
            let stepDown = withPrimary { $0.replication.receivedHigherEpoch(seenEpoch) } ?? []
            return (.refuse(.refused("EPOCH \(seenEpoch) this node was primary of epoch \(ownEpoch) and has stepped down")),
                    perform(stepDown, now: now))
        }
    }

    /// The snapshot the handshake chose cannot be sent: the standby is detached.
    public mutating func snapshotUnavailable(link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard primary?.standbyLink?.id == id else { return [] }
        withPrimary {
            $0.standbyLink = nil
            $0.replication.standbyDetached(nowMilliseconds: now)
        }
        return []
    }

    /// The answer (and any snapshot) is out on link `id`: WAL frames may follow.
    public mutating func standbyReadyToStream(link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard primary?.standbyLink?.id == id else { return [] }
        let actions = withPrimary { $0.replication.readyToStream() } ?? []
        return perform(actions, now: now)
    }

    /// The frames the last `.sendRecords` asked for are out.
    public mutating func recordsSent(upTo lsn: LSN, bytes: Int, nowMilliseconds now: Int64) -> [NodeAction] {
        let actions = withPrimary { $0.replication.recordsSent(upTo: lsn, bytes: bytes) } ?? []
        return perform(actions, now: now)
    }

    /// The standby on link `id` acknowledged records up to `durableLSN` in `epoch`.
    public mutating func standbyAcknowledged(durableLSN: LSN, epoch ackEpoch: Epoch, link id: UInt64,
                                             nowMilliseconds now: Int64) -> [NodeAction] {
        guard primary?.standbyLink?.id == id else { return [] }
        let primaryActions = withPrimary {
            $0.replication.standbyAcknowledged(durableLSN: durableLSN, epoch: ackEpoch, nowMilliseconds: now)
        } ?? []
        var actions = perform(primaryActions, now: now)
        guard coordinator != nil else { return actions }
        withCoordinator { $0.standbyHeard(nowMilliseconds: now) }
        actions += continueHandover(now: now)
        // Acknowledging alone: the moment the standby holds every released write, wait for it again.
        if primary?.replication.acknowledgesAlone == true { actions += coordinationTick(now: now) }
        return actions
    }

    /// The standby on link `id` echoed the heartbeat sent at `sentAt`: the lease is renewed.
    public mutating func standbyEchoed(sentAtMilliseconds sentAt: Int64, epoch echoEpoch: Epoch, link id: UInt64,
                                       nowMilliseconds now: Int64) -> [NodeAction] {
        guard let actions = withCoordinator({
            $0.standbyEchoedHeartbeat(sentAtMilliseconds: sentAt, epoch: echoEpoch, nowMilliseconds: now)
        }) else { return [] }
        return coordinate(actions, now: now)
    }

    /// The standby's link `id` closed.
    public mutating func standbyLinkClosed(link id: UInt64, nowMilliseconds now: Int64) -> [NodeAction] {
        guard let attached = primary?.standbyLink, attached.id == id else { return [] }
        withPrimary {
            $0.standbyLink = nil
            $0.replication.standbyDetached(nowMilliseconds: now)
        }
        return [.note(NodeNote(.warning, "standby detached", ["standby": attached.address]))]
    }

    // MARK: WAIT

    /// `WAIT numreplicas timeout` for the write at `lsn` of `connection`.
    public mutating func waitRequested(connection: UInt64, lsn: LSN, numberOfReplicas: Int, deadlineMilliseconds: Int64?) -> WaitOutcome {
        guard primary != nil else {
            return pairRole == .standby ? .refused(message: "ERR WAIT cannot be used with replica instances.") : .satisfied(replicas: 0)
        }
        return withPrimary {
            $0.replication.waitRequested(connection: connection, lsn: lsn, deadlineMilliseconds: deadlineMilliseconds,
                                         numberOfReplicas: numberOfReplicas)
        }!
    }

    /// The connection in WAIT went away.
    public mutating func waitCancelled(connection: UInt64) {
        withPrimary { $0.replication.waitCancelled(connection: connection) }
    }

    /// Primary, every tick: the machine's timeouts, replies that can no longer be released,
    /// and (without a witness, whose coordinator sends them) a heartbeat frame.
    mutating func primaryTick(now: Int64) -> [NodeAction] {
        guard primary != nil else { return [] }
        var actions = perform(withPrimary { $0.replication.tick(nowMilliseconds: now) } ?? [], now: now)
        guard let primary else { return actions }
        // Replies (reads among them) that arrived after their records had already timed out
        // depend on writes the standby does not have: with no standby attached they fail too,
        // rather than wait forever. With one attached, its acknowledgement releases them.
        let floor = primary.replication.waitingFloorLSN
        if primary.standbyLink == nil, floor > gate.acknowledgedLSN {
            actions.append(.fail(after: gate.acknowledgedLSN, through: floor,
                                 message: "NOREPLICAS this reply depends on writes up to LSN \(floor) that the standby has not acknowledged"))
        }
        if coordinator == nil, primary.standbyLink != nil {
            actions.append(.sendHeartbeat(epoch: epoch, lastWrittenLSN: log.written, sentAtMilliseconds: now, leaseMilliseconds: nil))
        }
        return actions
    }
}
