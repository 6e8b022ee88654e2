/// A planned switchover on the primary (`FAILOVER`, `understudy switchover`, SIGTERM with a
/// standby that can take over), as a pure state machine: hold new requests, wait until the
/// standby has every record and every reply has gone out, have the witness record the
/// standby as primary of the next epoch, then follow it. The shell holds the requests,
/// carries out the steps and reports the witness's answer.
public struct Handover: Hashable, Sendable {
    public enum Stage: Hashable, Sendable {
        /// Requests are held; waiting for the standby and the replies.
        case catchingUp
        /// `WITNESS HANDOVER` is out.
        case askingWitness
    }

    /// What the primary's log and link say when the switchover is moved on.
    public struct Facts: Hashable, Sendable {
        public var isPrimary: Bool
        /// The standby's address, while it is attached.
        public var standby: String?
        public var lastAppendedLSN: LSN
        public var lastWrittenLSN: LSN
        public var standbyDurableLSN: LSN?
        /// Replies released up to here.
        public var visibleLSN: LSN
        /// Records the standby lacks, for the message of a switchover that timed out.
        public var lagRecords: UInt64

        public init(isPrimary: Bool, standby: String?, lastAppendedLSN: LSN, lastWrittenLSN: LSN, standbyDurableLSN: LSN?,
                    visibleLSN: LSN, lagRecords: UInt64) {
            self.isPrimary = isPrimary
            self.standby = standby
            self.lastAppendedLSN = lastAppendedLSN
            self.lastWrittenLSN = lastWrittenLSN
            self.standbyDurableLSN = standbyDurableLSN
            self.visibleLSN = visibleLSN
            self.lagRecords = lagRecords
        }
    }

    /// What the shell does next.
    public enum Step: Hashable, Sendable {
        /// Nothing yet: keep holding.
        case wait
        /// Send this request to the witness (it is `.handover`); report its answer.
        case askWitness(WitnessRequest)
        /// Give up: stay primary, run the held requests, report `reason` (`-ERR …`).
        case abandon(reason: String)
        /// The deadline passed with `HANDOVER` unanswered: tell the operator its outcome is
        /// unknown (`-ERR …`), and keep holding and asking — the witness may have recorded it.
        case outcomeUnknown(reason: String)
    }

    public private(set) var stage: Stage = .catchingUp
    /// The `HANDOVER` sent; asked again while it goes unanswered.
    public private(set) var request: WitnessRequest?
    /// The last `HANDOVER` got no answer: ask again at the next `progress`.
    public private(set) var unanswered = false
    /// `.outcomeUnknown` has been returned (once).
    public private(set) var reportedUnknown = false
    /// `HANDOVER` was asked again after an earlier one went unanswered: an earlier one may
    /// have arrived, so a later one that certainly did not settles nothing.
    public private(set) var askedBefore = false
    public let node: String
    public let epoch: Epoch
    public let startedAtMilliseconds: Int64
    public let deadlineMilliseconds: Int64
    /// The primary shuts down after it: the witness records its future standby role as
    /// not in sync, so the new primary does not wait for it.
    public let leaving: Bool

    /// Why a switchover cannot start, or nil. `refusal` is checked in this order: one
    /// already running, no witness, not the primary, no standby, a failed log.
    public static func refusal(running: Bool, coordinated: Bool, isPrimary: Bool, standbyAttached: Bool,
                               logFailed: Bool) -> String? {
        guard !running else { return "ERR a switchover is already in progress" }
        guard coordinated else {
            return "ERR switchover needs automatic failover (--witness): without a witness, restart the nodes with the roles swapped"
        }
        guard isPrimary else { return "ERR this node is not the primary; run the switchover on the primary (understudy switchover finds it)" }
        guard standbyAttached else { return "ERR no standby is attached: there is no one to hand over to" }
        guard !logFailed else { return "ERR the write-ahead log has failed" }
        return nil
    }

    /// SIGTERM: whether a stopping node hands over first — a primary with a standby attached
    /// that is in sync (sync mode; async: any), so stopping costs clients a pause of
    /// milliseconds instead of a failover.
    public static func handsOverOnShutdown(coordinator: NodeCoordinator, standbyAttached: Bool) -> Bool {
        coordinator.role == .primary && standbyAttached && (coordinator.settings.mode == .async || coordinator.standbyInSync)
    }

    public init(node: String, epoch: Epoch, nowMilliseconds now: Int64, timeoutMilliseconds: Int64, leaving: Bool) {
        self.node = node
        self.epoch = epoch
        startedAtMilliseconds = now
        deadlineMilliseconds = now + timeoutMilliseconds
        self.leaving = leaving
    }

    /// Moves the switchover on: after durability, acknowledgements and ticks.
    public mutating func progress(nowMilliseconds now: Int64, facts: Facts) -> Step {
        guard stage == .catchingUp else { return askAgain(now: now) }
        guard facts.isPrimary, let standby = facts.standby else {
            return .abandon(reason: "ERR switchover abandoned: the standby detached or this node stopped being primary")
        }
        guard now < deadlineMilliseconds else {
            return .abandon(reason: "ERR switchover abandoned: the standby did not catch up within \(deadlineMilliseconds - startedAtMilliseconds) ms (lag \(facts.lagRecords) records)")
        }
        let last = facts.lastAppendedLSN
        guard facts.lastWrittenLSN == last, (facts.standbyDurableLSN ?? .zero) >= last, facts.visibleLSN >= last else { return .wait }
        stage = .askingWitness
        let handover = WitnessRequest.handover(node: node, epoch: epoch, to: standby, leaving: leaving, lastLSN: last)
        request = handover
        return .askWitness(handover)
    }

    /// `HANDOVER` is out. Once sent it is never abandoned for want of an answer: the witness
    /// may have recorded the standby as primary, and resuming here could acknowledge a write
    /// in an epoch already superseded. It is asked again (a repeat is answered with the new
    /// epoch, which the coordinator follows); past the deadline the operator hears that the
    /// outcome is unknown, and requests stay held until the witness answers.
    private mutating func askAgain(now: Int64) -> Step {
        if now >= deadlineMilliseconds, !reportedUnknown {
            reportedUnknown = true
            return .outcomeUnknown(reason: "ERR switchover outcome unknown: the witness did not answer HANDOVER within \(deadlineMilliseconds - startedAtMilliseconds) ms; it may have made the standby primary, so this node holds requests and asks again until the witness answers")
        }
        guard unanswered, let request else { return .wait }
        unanswered = false
        askedBefore = true
        return .askWitness(request)
    }

    /// The witness answered the `HANDOVER` (or did not: `reply` nil). A `.state` naming the
    /// standby, or a `.staleEpoch` (a repeat after it was recorded, or a newer epoch), arrives
    /// through the coordinator as `becomeStandby`, which ends the switchover. It is abandoned
    /// only when the witness certainly recorded nothing: it refused, or the request never
    /// reached it (`mayHaveArrived` false: no connection could be made). No answer to a
    /// request that may have arrived asks again.
    public mutating func witnessAnswered(_ reply: WitnessReply?, mayHaveArrived: Bool = true, error: String = "no answer") -> Step {
        guard stage == .askingWitness else { return .wait }
        switch reply {
        case .denied(let reason)?: return .abandon(reason: "ERR switchover abandoned: the witness refused: \(reason)")
        case .staleEpoch?, .state?: return .wait
        case nil where !mayHaveArrived && !reportedUnknown && !askedBefore:
            return .abandon(reason: "ERR switchover abandoned: the witness is unreachable (\(error)); nothing was handed over")
        case nil:
            unanswered = true
            return .wait
        }
    }
}
