/// Planned switchover on the primary: hold new requests, wait until the standby has every
/// record and every reply is out, have the witness record the standby as primary of the
/// next epoch, tell the standby, follow it.
extension DataNode {
    /// Starts a switchover to the standby (`leaving`: SIGTERM, this node stops after it).
    /// It ends with `.switchoverEnded`. `candidate` (`FAILOVER TO`, `POST /switchover`), if
    /// given, must name the attached standby: it is the only node this primary can hand to.
    public mutating func beginSwitchover(to candidate: String? = nil, timeoutMilliseconds: Int64, leaving: Bool,
                                         nowMilliseconds now: Int64) -> Result<[NodeAction], OperatorRefusal> {
        let primary = self.primary
        if let candidate, let attached = primary?.standbyLink?.address, attached != candidate {
            return .failure(OperatorRefusal("ERR switchover to \(candidate) refused: the standby is \(attached), the only node this primary can hand over to"))
        }
        if let refusal = Handover.refusal(
            running: primary?.handover != nil, coordinated: coordinator != nil,
            isPrimary: coordinator?.role == .primary && primary != nil,
            standbyAttached: primary?.standbyLink != nil, logFailed: logFailure != nil) {
            return .failure(OperatorRefusal(refusal))
        }
        let handover = Handover(node: node, epoch: coordinator?.epoch ?? epoch, nowMilliseconds: now,
                                timeoutMilliseconds: timeoutMilliseconds, leaving: leaving)
        withPrimary { $0.handover = handover }
        let standby = primary?.standbyLink?.address ?? "?"
        return .success([.note(NodeNote(.notice, "switchover: holding new requests until the standby has every record", [
            "standby": standby, "last_lsn": "\(log.appended)", "epoch": "\(epoch)",
        ])), .event(NodeEvent(.switchoverStarted, epoch: epoch,
                              reason: leaving ? "this primary is shutting down (drain or SIGTERM): handing over to \(standby)" : "an operator asked for a switchover to \(standby)",
                              ["standby": standby, "last_lsn": "\(log.appended)"]))] + continueHandover(now: now))
    }

    /// Moves the switchover on when it can (after durability, acknowledgements and ticks).
    mutating func continueHandover(now: Int64) -> [NodeAction] {
        guard let primary, primary.handover != nil else { return [] }
        let replication = primary.replication
        let early = configuration.mutation == .handOverEarly
        let facts = Handover.Facts(
            isPrimary: coordinator?.role == .primary,
            standby: primary.standbyLink?.address,
            lastAppendedLSN: log.appended, lastWrittenLSN: early ? log.appended : log.written,
            standbyDurableLSN: early ? log.appended : replication.standbyDurableLSN,
            visibleLSN: early ? log.appended : gate.acknowledgedLSN,
            lagRecords: replication.lag(nowMilliseconds: now).lsns)
        let step = withPrimary { $0.handover!.progress(nowMilliseconds: now, facts: facts) }!
        return self.step(step, now: now)
    }

    /// Carries out a step of the switchover.
    mutating func step(_ step: Handover.Step, now: Int64) -> [NodeAction] {
        switch step {
        case .wait:
            return []
        case .askWitness(let request):
            return coordinate([.askWitness(request)], now: now)
        case .outcomeUnknown(let reason):
            return [.note(NodeNote(.error, "switchover outcome unknown: holding requests until the witness answers", ["reason": reason]))]
                + Self.switchoverEnded(.failed(reason), epoch: epoch)
        case .abandon(let reason):
            guard primary?.handover != nil else { return [] }
            withPrimary { $0.handover = nil }
            return [.note(NodeNote(.warning, "switchover abandoned; still the primary", ["reason": reason]))]
                + Self.switchoverEnded(.failed(reason), epoch: epoch)
        }
    }

    /// `.switchoverEnded` and its event, in that order.
    static func switchoverEnded(_ outcome: OperatorOutcome, epoch: Epoch) -> [NodeAction] {
        [.switchoverEnded(outcome), .event(.ended(.switchoverEnded, outcome, epoch: epoch))]
    }
}
