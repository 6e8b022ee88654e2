/// Automatic failover: time, the witness, the coordinator's decisions carried into the
/// role, FENCE and forced promotion.
extension DataNode {
    /// The node's name is known (its bound `--listen` address), and its persisted cluster
    /// identity and highest known epoch read: with a witness, the coordinator starts — at the
    /// higher of that epoch and the history's (a trimmed history may end lower).
    public mutating func started(node: String, clusterID: String?, knownEpoch: Epoch = .initial, nowMilliseconds now: Int64) {
        self.node = node
        persistedClusterID = clusterID
        persistedKnownEpoch = max(knownEpoch, history.currentEpoch)
        guard coordinator == nil, let pair = configuration.pair, let settings = pair.coordination, logFailure == nil else { return }
        coordinator = NodeCoordinator(node: node, hint: pair.hint, epoch: persistedKnownEpoch, settings: settings,
                                      nowMilliseconds: now, clusterID: clusterID)
    }

    /// Every heartbeat interval.
    public mutating func tick(nowMilliseconds now: Int64) -> [NodeAction] {
        guard !isStopping else { return [] }
        var actions: [NodeAction] = []
        // A node whose log failed takes no further part in failover: as primary it sends no
        // more heartbeats, so its lease lapses and the standby takes over; as standby it asks
        // for no vote (its log is broken). It is restarted by an operator.
        if coordinator != nil, logFailure == nil {
            actions += checkForcedPromotion(now: now)
            actions += continueHandover(now: now)
            actions += coordinationTick(now: now)
        }
        actions += connectIfDue(now: now)
        actions += primaryTick(now: now)
        // A lease can come back by time alone (a promise this node made ran out): what
        // durability allowed meanwhile goes out.
        if primary != nil { actions += releaseIfAllowed(now: now) }
        return actions
    }

    /// The epoch the log's record at `lsn` was written in (`Epoch(0)`: no record).
    func recordEpoch(at lsn: LSN) -> Epoch {
        history.epoch(at: lsn) ?? Epoch(0)
    }

    /// The coordinator's tick, with the facts of the log and the link.
    mutating func coordinationTick(now: Int64) -> [NodeAction] {
        guard coordinator != nil else { return [] }
        let primary = self.primary
        let replication = primary?.replication
        let attached = primary?.standbyLink != nil
        let facts = NodeCoordinator.LogFacts(
            lastWrittenLSN: log.written, durableLSN: log.durable,
            lastWrittenEpoch: recordEpoch(at: log.written), durableEpoch: recordEpoch(at: log.durable),
            standbyDurableLSN: replication?.standbyDurableLSN,
            // Unknown lag (never acknowledged, or behind the record history) is not zero.
            standbyLagBytes: replication?.knownLagBytes(nowMilliseconds: now),
            standbyHoldsEveryReleasedWrite: replication.map { attached && ($0.standbyDurableLSN ?? .zero) >= $0.commitLSN } ?? false,
            // What was acknowledged and is on a disk: a write acknowledged before it was synced
            // (`--fsync everysec|no`, alone or async) may be taken by a machine crash, and a
            // primary restarted without it must still be able to resume.
            commitLSN: primary == nil || configuration.mutation == .reseededStaysInSync ? .zero : min(gate.acknowledgedLSN, max(log.durable, replication?.standbyDurableLSN ?? .zero)),
            standbyAttached: attached)
        let actions = withCoordinator { $0.tick(nowMilliseconds: now, facts: facts) } ?? []
        return coordinate(actions, now: now)
    }

    // MARK: The witness

    /// The witness answered `request` (sent at `sentAt`).
    public mutating func witnessAnswered(_ request: WitnessRequest, reply: WitnessReply, sentAtMilliseconds sentAt: Int64,
                                         nowMilliseconds now: Int64) -> [NodeAction] {
        guard coordinator != nil else { return [] }
        var actions: [NodeAction] = []
        if case .handover = request, primary?.handover != nil {
            actions += step(withPrimary { $0.handover!.witnessAnswered(reply) }!, now: now)
        }
        if case .denied(let reason) = reply, coordinator?.lastDenial != reason {
            actions.append(.note(NodeNote(.info, "the witness said no", ["reason": reason])))
        }
        let decided = withCoordinator {
            $0.witnessAnswered(request, reply: reply, sentAtMilliseconds: sentAt, nowMilliseconds: now)
        } ?? []
        return actions + coordinate(decided, now: now)
    }

    /// `request` got no answer (timeout, refused connection): `error` says why, and
    /// `mayHaveArrived` is false only if it certainly never reached the witness.
    public mutating func witnessUnreachable(_ request: WitnessRequest, error: String, mayHaveArrived: Bool = true,
                                            nowMilliseconds now: Int64) -> [NodeAction] {
        guard coordinator != nil else { return [] }
        var actions: [NodeAction] = []
        if case .handover = request, primary?.handover != nil {
            if mayHaveArrived {
                actions.append(.note(NodeNote(.warning, "the witness did not answer HANDOVER: asking again", ["error": error])))
            }
            actions += step(withPrimary { $0.handover!.witnessAnswered(nil, mayHaveArrived: mayHaveArrived, error: error) }!, now: now)
        }
        return actions + coordinate(withCoordinator { $0.witnessUnreachable(request) } ?? [], now: now)
    }

    // MARK: The coordinator's decisions

    /// Carries the coordinator's actions into the role, in order. An identity it has just
    /// learned is persisted before anything that follows.
    mutating func coordinate(_ decided: [CoordinatorAction], now: Int64) -> [NodeAction] {
        var actions = persistKnownEpochIfRaised()
        if let learned = coordinator?.clusterID, learned != persistedClusterID {
            persistedClusterID = learned
            actions.append(.persistClusterIdentity(learned))
            actions.append(.note(NodeNote(.info, "this node belongs to cluster \(learned)")))
        }
        for action in decided {
            switch action {
            case .askWitness(let request):
                actions.append(.askWitness(request))
            case .sendStandbyHeartbeat(let sentAt):
                guard primary?.standbyLink != nil else { continue }
                actions.append(.sendHeartbeat(epoch: epoch, lastWrittenLSN: log.written, sentAtMilliseconds: sentAt,
                                              leaseMilliseconds: coordinator?.settings.leaseMilliseconds))
            case .becomePrimary(let newEpoch, let alone):
                actions += promote(to: newEpoch, acknowledgeAlone: alone, now: now)
            case .becomeStandby(let newEpoch, let primaryName):
                actions += follow(epoch: newEpoch, primary: primaryName, now: now)
            case .acknowledgeAlone(let alone):
                actions.append(.event(alone
                    ? NodeEvent(.syncDegraded, epoch: epoch, reason: "the standby stopped acknowledging: the witness recorded it not in sync and this primary acknowledges writes alone", ["last_lsn": "\(log.written)"])
                    : NodeEvent(.syncRestored, epoch: epoch, reason: "the standby caught up: writes wait for it again", ["last_lsn": "\(log.written)"])))
                actions.append(.note(NodeNote(.warning, alone
                    ? "the witness recorded the standby as not in sync: acknowledging writes alone"
                    : "the standby has every acknowledged write: waiting for it again", [
                        "epoch": "\(epoch)", "last_lsn": "\(log.written)",
                    ])))
                actions += perform(withPrimary { $0.replication.setAcknowledgesAlone(alone) } ?? [], now: now)
            case .leaseAcquired:
                actions += releaseIfAllowed(now: now)
            case .fencePeer(let fenceEpoch, let clusterID, let forcedFrom):
                actions.append(.fencePeer(epoch: fenceEpoch, clusterID: clusterID, forcedFrom: forcedFrom))
            }
        }
        return actions
    }

    /// The coordinator knows a higher epoch than the disk does: persist it before acting on
    /// anything that follows (the coordinator's epoch is "persisted before it acts in it").
    mutating func persistKnownEpochIfRaised() -> [NodeAction] {
        guard let known = coordinator?.epoch, known > persistedKnownEpoch else { return [] }
        persistedKnownEpoch = known
        return [.persistKnownEpoch(known)]
    }

    /// Becomes primary of `newEpoch` (persisting it first if it is new): stop following,
    /// sync the log (the primary's machine counts it durable), take writes. A primary moves
    /// to a newer epoch in place (the witness's grant over a forced epoch, or a forced
    /// primary taking the epoch above its peer's): its standby re-attaches in the new epoch,
    /// and replies it holds go out only under the new lease — or fail as of unknown outcome
    /// if they waited for that standby.
    mutating func promote(to newEpoch: Epoch, acknowledgeAlone: Bool, now: Int64) -> [NodeAction] {
        guard let pair = configuration.pair else { return [] }
        var actions: [NodeAction] = []
        let former = standby
        let formerPrimary = primary
        if former?.link.id != nil { actions.append(.closePrimaryLink(reason: "this node becomes primary")) }
        if let formerPrimary {
            actions += leaveEpochInPlace(formerPrimary, for: newEpoch, acknowledgeAlone: acknowledgeAlone, mode: pair.mode)
        }
        actions.append(.syncLog(reason: "becoming primary"))
        logSynced(through: log.appended)
        if newEpoch > history.currentEpoch {
            history.begin(epoch: newEpoch, at: log.appended.next)
            actions.append(.persistHistory(history))
        }
        role = .primary(PrimaryRole(replication: Self.primaryReplication(pair, epoch: newEpoch, history: history, lastWrittenLSN: log.written),
                                    promotedAtLSN: former != nil ? log.written : nil))
        actions += perform(withPrimary { $0.replication.setAcknowledgesAlone(acknowledgeAlone) } ?? [], now: now)
        if formerPrimary != nil {
            // The whole log is durable here now; the new lease decides when it goes out.
            actions += release(upTo: log.written, mayAcknowledge: mayAcknowledge(nowMilliseconds: now))
        } else {
            // Reads that waited for records applied as a standby need nothing more.
            actions += release(upTo: log.written, mayAcknowledge: true)
        }
        actions.append(.becamePrimary(epoch: newEpoch, acknowledgesAlone: acknowledgeAlone, wasStandby: former != nil))
        actions.append(.event(NodeEvent(.becamePrimary, epoch: newEpoch, reason: Self.promotionReason(
            forced: former?.forceDeadlineMilliseconds != nil, wasStandby: former != nil, wasPrimary: formerPrimary != nil, epoch: newEpoch),
            ["last_lsn": "\(log.written)", "acknowledges_alone": "\(acknowledgeAlone)"])))
        actions.append(.note(NodeNote(.warning, "this node is now the primary", [
            "epoch": "\(newEpoch)", "last_lsn": "\(log.written)", "acknowledges_alone": "\(acknowledgeAlone)",
        ])))
        if former?.forceDeadlineMilliseconds != nil {
            actions.append(.forcedPromotionEnded(.done(primary: node)))
            actions.append(.event(.ended(.forcedPromotionEnded, .done(primary: node), epoch: newEpoch)))
        }
        return actions
    }

    /// Why this node became primary, as the event says it.
    static func promotionReason(forced: Bool, wasStandby: Bool, wasPrimary: Bool, epoch: Epoch) -> String {
        if forced { return "forced promotion by an operator (epoch \(epoch))" }
        if wasPrimary { return "this primary moved to the newer epoch \(epoch)" }
        if wasStandby { return "the witness granted this standby epoch \(epoch) (failover, or the primary handed over)" }
        return "the witness named this node the primary of epoch \(epoch)"
    }

    /// A primary about to move to `newEpoch` in place: its standby link closes (the standby
    /// re-attaches and learns the new history), a switchover in progress ends, and in sync
    /// mode replies that waited for the standby fail as of unknown outcome (the new
    /// epoch's machine does not know what the standby acknowledged).
    private func leaveEpochInPlace(_ former: PrimaryRole, for newEpoch: Epoch, acknowledgeAlone: Bool,
                                   mode: ReplicationMode) -> [NodeAction] {
        var actions: [NodeAction] = [.note(NodeNote(.warning, "this primary moves to a newer epoch", [
            "epoch": "\(epoch)", "new_epoch": "\(newEpoch)", "last_lsn": "\(log.written)"]))]
        if former.standbyLink != nil {
            actions.append(.closeStandbyLink(reason: "this primary moves to epoch \(newEpoch)"))
        }
        if mode == .sync, !acknowledgeAlone {
            actions.append(fail(after: gate.acknowledgedLSN, through: LSN(UInt64.max), message: UncertainOutcome.message(
                "this primary moved to epoch \(newEpoch) before its standby acknowledged the write")))
        }
        if former.handover != nil {
            actions += Self.switchoverEnded(.failed("ERR switchover abandoned: this primary moved to epoch \(newEpoch)"), epoch: newEpoch)
        }
        return actions
    }

    /// Stops acting as primary (if it was) and follows the primary at `--peer`. Replies not
    /// yet released fail: their writes were never acknowledged and may be cut off later.
    mutating func follow(epoch newEpoch: Epoch, primary primaryName: String?, now: Int64) -> [NodeAction] {
        var actions: [NodeAction] = []
        let former = self.primary
        // Asking the witness: this is its answer (the standby is primary of the next epoch).
        let switchedOver = former?.handover?.stage == .askingWitness
        if let former {
            let oldEpoch = epoch
            if switchedOver, former.standbyLink != nil {
                // Tell the standby, then close the link. (Detached meanwhile, it learns the
                // epoch from the witness when its vote for it is granted.)
                actions.append(.sendHandover(epoch: oldEpoch, newEpoch: newEpoch))
                withPrimary { $0.standbyLink = nil }
            }
            actions += perform(withPrimary { $0.replication.receivedHigherEpoch(newEpoch) } ?? [], now: now)
            actions.append(.fail(after: gate.acknowledgedLSN, through: LSN(UInt64.max), message: UncertainOutcome.message(
                "this node stopped being primary (epoch \(newEpoch) superseded epoch \(oldEpoch))")))
            if self.primary?.standbyLink != nil {
                withPrimary { $0.standbyLink = nil }
                actions.append(.closeStandbyLink(reason: "this node stopped being primary"))
            }
        }
        let pendingForce = standby?.forceDeadlineMilliseconds
        if standby?.link.id != nil { actions.append(.closePrimaryLink(reason: "following the primary of epoch \(newEpoch)")) }
        // The standby's machine counts the log it starts from as durable (and acknowledges
        // it); and no epoch entry may lie beyond that log.
        actions.append(.syncLog(reason: "following a primary"))
        logSynced(through: log.appended)
        let trimmed = history.truncated(after: log.written)
        if trimmed != history {
            history = trimmed
            actions.append(.persistHistory(trimmed))
        }
        role = .standby(StandbyRole(replication: StandbyReplication(
            epoch: history.currentEpoch, history: history, lastLSN: log.written, lastRecordChecksum: log.lastRecordChecksum)))
        gate.restart(at: max(gate.acknowledgedLSN, log.written))
        actions.append(.becameStandby(epoch: newEpoch, primary: primaryName, wasPrimary: former != nil))
        actions.append(.event(NodeEvent(.becameStandby, epoch: newEpoch, reason: former == nil
            ? "following the primary \(primaryName ?? "?") of epoch \(newEpoch)"
            : (switchedOver ? "handed over to \(primaryName ?? "?") (planned switchover)" : "stepped down: \(primaryName ?? "another node") is primary of epoch \(newEpoch)"),
            ["primary": primaryName ?? "", "last_lsn": "\(log.written)", "was_primary": "\(former != nil)"])))
        actions.append(.note(former != nil
            ? NodeNote(.critical, "stepped down: a newer primary exists; following it", [
                "epoch": "\(newEpoch)", "primary": primaryName ?? "?", "last_lsn": "\(log.written)"])
            : NodeNote(.info, "following the primary", ["epoch": "\(newEpoch)", "primary": primaryName ?? "?"])))
        if former?.handover != nil {
            if switchedOver {
                actions += Self.switchoverEnded(.done(primary: primaryName ?? configuration.pair?.peer ?? "?"), epoch: newEpoch)
            } else {
                actions += Self.switchoverEnded(.failed("ERR switchover abandoned: the standby detached or this node stopped being primary"), epoch: newEpoch)
            }
        }
        if pendingForce != nil {
            let outcome = OperatorOutcome.failed("ERR another node became the primary of epoch \(newEpoch)")
            actions += [.forcedPromotionEnded(outcome), .event(.ended(.forcedPromotionEnded, outcome, epoch: newEpoch))]
        }
        // Connect now, not at the next tick: a sync primary waits for its standby.
        actions += connectIfDue(now: now)
        return actions
    }

    // MARK: FENCE

    /// `FENCE <epoch> <primary> <cluster> [<forced-from>]` from a client connection: the peer
    /// says it is primary of `epoch` (forced without the witness from `forcedFrom`, if given).
    /// It can only demote this node, and only from this cluster's peer (`NodeCoordinator.fenced`).
    public mutating func fenced(epoch seen: Epoch, by primaryName: String, clusterID: String, forcedFrom: Epoch? = nil,
                                nowMilliseconds now: Int64) -> Result<[NodeAction], FenceRefusal> {
        guard coordinator != nil else { return .failure(.notCoordinated) }
        let promotes = configuration.mutation == .fencePromotes
        // Replies went out for records of this primary's own epoch.
        let acknowledgedInThisEpoch = primary != nil && gate.acknowledgedLSN >= history.lastEntry.firstLSN
        switch withCoordinator({
            $0.fenced(epoch: seen, by: primaryName, clusterID: clusterID, forcedFrom: forcedFrom,
                      acknowledgedInThisEpoch: acknowledgedInThisEpoch, nowMilliseconds: now, mutationPromotes: promotes)
        })! {
        case .success(let decided):
            let note = NodeAction.note(NodeNote(.critical, "fenced by the peer: it is primary of a newer epoch", [
                "epoch": "\(seen)", "primary": primaryName,
            ]))
            let event = NodeAction.event(NodeEvent(.fenced, epoch: seen, reason: "fenced by the peer \(primaryName): it is primary of epoch \(seen)",
                                                   ["primary": primaryName, "forced_from": forcedFrom.map { "\($0)" } ?? ""]))
            return .success([note, event] + coordinate(decided, now: now))
        case .failure(let refusal):
            return .failure(refusal)
        }
    }

    /// The peer refused this node's FENCE: it is primary of `peerEpoch`, not older.
    public mutating func peerIsPrimary(ofEpoch peerEpoch: Epoch, nowMilliseconds now: Int64) -> [NodeAction] {
        let decided = withCoordinator { $0.peerIsPrimary(ofEpoch: peerEpoch, nowMilliseconds: now) } ?? []
        guard !decided.isEmpty else { return [] }
        return [.note(NodeNote(.critical, "the peer is primary of the epoch this forced promotion took: taking the next one", [
            "peer_epoch": "\(peerEpoch)",
        ]))] + coordinate(decided, now: now)
    }

    // MARK: Forced promotion

    /// `PROMOTE FORCE`: this standby becomes primary although automation would not promote
    /// it. It still waits for its own promise, and goes through the witness if it answers.
    /// It ends with `.forcedPromotionEnded`.
    public mutating func forcePromotion(timeoutMilliseconds: Int64, nowMilliseconds now: Int64) -> Result<[NodeAction], OperatorRefusal> {
        guard coordinator != nil else {
            return .failure(OperatorRefusal("ERR forced promotion needs automatic failover (--witness); without it restart this node with --role primary"))
        }
        guard standby?.forceDeadlineMilliseconds == nil else {
            return .failure(OperatorRefusal("ERR a forced promotion is already in progress"))
        }
        guard coordinator?.clusterID != nil else {
            // An emptied or new data directory holds nothing of the cluster: promoting it would
            // discard every write the cluster has, and it could never rejoin (simulator, finding G).
            return .failure(OperatorRefusal("ERR this node has no cluster identity (a new or emptied data directory): it holds nothing to promote; let it catch up from the primary first"))
        }
        guard standby != nil, withCoordinator({ $0.forcePromotion() }) == true else {
            return .failure(OperatorRefusal("ERR only a standby can be promoted (this node is \(coordinator?.role.rawValue ?? "?"))"))
        }
        withStandby { $0.forceDeadlineMilliseconds = now + timeoutMilliseconds }
        return .success([.note(NodeNote(.critical, "forced promotion requested by an operator: taking the next epoch once this node's promise has run out", [
            "durable_lsn": "\(log.durable)", "epoch": "\(epoch)",
        ])), .event(NodeEvent(.forcedPromotionStarted, epoch: epoch, reason: "an operator forced the promotion of this standby (it may lose writes)",
                              ["durable_lsn": "\(log.durable)"]))] + coordinationTick(now: now))
    }

    /// Every tick: a forced promotion that has not happened by its deadline is reported.
    mutating func checkForcedPromotion(now: Int64) -> [NodeAction] {
        guard let deadline = standby?.forceDeadlineMilliseconds, now >= deadline else { return [] }
        withStandby { $0.forceDeadlineMilliseconds = nil }
        withCoordinator { $0.cancelForcePromotion() }
        let reason = coordinator?.lastDenial
        let outcome = OperatorOutcome.failed("ERR not promoted within the timeout, and no longer trying: \(reason ?? "the witness did not answer") (a primary that still holds its lease through the witness cannot be superseded safely: stop it, or use understudy switchover)")
        return [
            .note(NodeNote(.warning, "forced promotion abandoned at its deadline", ["reason": reason ?? "no answer from the witness"])),
            .forcedPromotionEnded(outcome),
            .event(.ended(.forcedPromotionEnded, outcome, epoch: epoch)),
        ]
    }
}
