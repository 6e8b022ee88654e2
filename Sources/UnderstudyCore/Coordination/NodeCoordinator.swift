/// A data node's part in automatic failover, as a pure state machine: which role it plays,
/// when the primary holds its lease, when a standby decides its primary is gone and asks
/// the witness for a vote, and when a primary records its standby in or out of sync.
///
/// Events are mutating methods returning `CoordinatorAction`s the shell performs in order.
/// Time is the shell's monotonic clock in milliseconds; nothing here reads a clock.
///
/// The rules that keep one writer (DESIGN.md, "A sketch of the coordination protocol"):
/// - A primary holds a lease until `sentAt + lease` of the newest heartbeat that a voter
///   (standby or witness) acknowledged, and acknowledges writes (or serves reads) only
///   while `hasLease(now)`.
/// - A standby that echoes a heartbeat promises not to vote for a higher epoch until
///   `now + lease + drift`; it asks the witness for a vote only after that promise has
///   run out, and echoes nothing while its request is out (a promise made then could not
///   be kept if the vote were granted).
/// - A node acts as primary only on the witness's word (`HELLO` answered naming it, or a
///   granted vote), and stops at once on hearing of a higher epoch.
public struct NodeCoordinator: Sendable {
    public enum Role: String, Hashable, Sendable {
        /// Waiting for the witness to say who is primary: refuses writes and reads.
        case undecided
        case primary
        case standby
    }

    /// What the shell knows of its log when time passes.
    public struct LogFacts: Hashable, Sendable {
        public var lastWrittenLSN: LSN
        /// This node's last durable LSN (what a standby's vote request offers).
        public var durableLSN: LSN
        /// Primary: the standby's acknowledged durable LSN and lag in bytes, if known.
        public var standbyDurableLSN: LSN?
        public var standbyLagBytes: Int64?
        /// Primary: a standby is attached and has every write released so far.
        public var standbyHoldsEveryReleasedWrite: Bool

        public init(lastWrittenLSN: LSN, durableLSN: LSN, standbyDurableLSN: LSN? = nil, standbyLagBytes: Int64? = nil,
                    standbyHoldsEveryReleasedWrite: Bool = false) {
            self.lastWrittenLSN = lastWrittenLSN
            self.durableLSN = durableLSN
            self.standbyDurableLSN = standbyDurableLSN
            self.standbyLagBytes = standbyLagBytes
            self.standbyHoldsEveryReleasedWrite = standbyHoldsEveryReleasedWrite
        }
    }

    public let node: String
    public let hint: ReplicationRole?
    public let settings: CoordinationSettings
    public private(set) var role: Role = .undecided
    /// The highest epoch this node knows of (persisted by the shell before it acts in it).
    public private(set) var epoch: Epoch
    /// Primary: what the witness last said of the standby (holds every acknowledged write).
    public private(set) var standbyInSync = false
    /// Primary, sync mode: writes are acknowledged without the standby. Set only by the
    /// witness's answer to this node's own `SYNC 0` (or a grant that recorded the standby
    /// out of sync); cleared before `SYNC 1` is sent. An unanswered request leaves it
    /// cleared — waiting for the standby is the safe side.
    private var alone = false
    /// Orders this primary's `SYNC` requests, so that the witness ignores a late one.
    private var syncSequence: UInt64 = 0
    /// Primary: the lease runs until here (exclusive); nil before the first acknowledgement.
    public private(set) var leaseExpiresAtMilliseconds: Int64?
    /// The witness's last refusal (any request), for INFO and status.
    public private(set) var lastDenial: String?

    private var lastHelloAt: Int64?
    private var helloInFlight = false
    // Primary.
    private var lastHeartbeatAt: Int64?
    private var heartbeatsInFlight = 0
    private var lastStandbyContactAt: Int64 = 0
    private var syncRequestInFlight = false
    // Standby.
    private var lastPrimaryContactAt: Int64 = 0
    private var promisedUntil: Int64
    private var primaryUnreachable = false
    /// Standby: a heartbeat has come since it began to follow. Only a primary that was
    /// heard and then refuses connections has crashed; one that never answered may be
    /// starting up itself.
    private var heardFromPrimary = false
    private var voteInFlight = false
    private var lastVoteAt: Int64?
    /// A vote went unanswered: it may have been granted. Until the witness says how it
    /// went, this node makes no promise (a promise now could be broken by that grant).
    private var voteOutcomeUnknown = false
    /// Undecided: the witness names this node primary of this epoch. A restarted primary
    /// does not resume it — records it wrote but lost in a crash would get successors with
    /// the same (epoch, LSN) — but asks for the next one, once its own promise has run out.
    private var resumingEpoch: Epoch?
    /// Standby: an operator forces this node's promotion (`PROMOTE FORCE`).
    public private(set) var forcing = false
    private var forceInFlight = false
    /// Forcing: the witness did not answer; the operator's word then suffices.
    private var forceWitnessUnreachable = false

    /// At most this many witness heartbeats unanswered at once; a slow witness gets no more.
    public static let maxHeartbeatsInFlight = 4

    /// - Parameter nowMilliseconds: start time. Any promise this node made before a restart
    ///   is assumed still to run, so it votes no sooner than a promise after now.
    public init(node: String, hint: ReplicationRole?, epoch: Epoch, settings: CoordinationSettings, nowMilliseconds now: Int64) {
        self.node = node
        self.hint = hint
        self.epoch = epoch
        self.settings = settings
        promisedUntil = now + settings.promiseMilliseconds
    }

    /// Whether a primary may acknowledge a write or serve a read now.
    public func hasLease(nowMilliseconds now: Int64) -> Bool {
        guard role == .primary, let expiry = leaseExpiresAtMilliseconds else { return false }
        return now < expiry
    }

    /// Sync mode: whether a write may be acknowledged without the standby's acknowledgement.
    public var acknowledgesAlone: Bool { role == .primary && settings.mode == .sync && alone }

    // MARK: Time

    /// Time passes: hellos, heartbeats, failure detection, votes, sync-state changes.
    public mutating func tick(nowMilliseconds now: Int64, facts: LogFacts) -> [CoordinatorAction] {
        switch role {
        case .undecided:
            if let resuming = resumingEpoch {
                guard now >= promisedUntil, !voteInFlight,
                      lastVoteAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true else { return [] }
                voteInFlight = true
                lastVoteAt = now
                return [.askWitness(.vote(node: node, epoch: Epoch(resuming.rawValue + 1), durableLSN: facts.durableLSN,
                                          maxLagBytes: settings.maxLagOnFailoverBytes))]
            }
            guard !helloInFlight, lastHelloAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true else { return [] }
            helloInFlight = true
            lastHelloAt = now
            return [.askWitness(.hello(node: node, hint: hint, epoch: epoch, lastLSN: facts.lastWrittenLSN))]
        case .primary:
            return primaryTick(now: now, facts: facts)
        case .standby:
            return standbyTick(now: now, facts: facts)
        }
    }

    private mutating func primaryTick(now: Int64, facts: LogFacts) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        if lastHeartbeatAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true {
            lastHeartbeatAt = now
            actions.append(.sendStandbyHeartbeat(sentAtMilliseconds: now))
            if heartbeatsInFlight < Self.maxHeartbeatsInFlight {
                heartbeatsInFlight += 1
                actions.append(.askWitness(.heartbeat(WitnessHeartbeat(
                    node: node, epoch: epoch, mode: settings.mode, leaseMilliseconds: settings.leaseMilliseconds,
                    lastWrittenLSN: facts.lastWrittenLSN, standbyDurableLSN: facts.standbyDurableLSN,
                    standbyLagBytes: facts.standbyLagBytes))))
            }
        }
        guard settings.mode == .sync, !syncRequestInFlight else { return actions }
        let standbyHeard = now - lastStandbyContactAt < settings.failureTimeoutMilliseconds
        if !alone, !standbyHeard {
            // The standby is gone: writes wait until the witness records that, then go on alone.
            actions.append(syncRequest(inSync: false, now: now))
        } else if facts.standbyHoldsEveryReleasedWrite, standbyHeard, alone || !standbyInSync {
            // Back in step: wait for the standby again from now on, then tell the witness.
            if alone {
                alone = false
                actions.append(.acknowledgeAlone(false))
            }
            actions.append(syncRequest(inSync: true, now: now))
        }
        return actions
    }

    private mutating func standbyTick(now: Int64, facts: LogFacts) -> [CoordinatorAction] {
        if forcing {
            guard now >= promisedUntil, !forceInFlight else { return [] }
            if forceWitnessUnreachable {
                // No witness to record it: the operator decided to go on without one. The
                // promise this node made has run out (the request went out only after it).
                return becomePrimary(epoch: Epoch(epoch.rawValue + 1), standbyInSync: false, now: now)
            }
            guard lastVoteAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true else { return [] }
            forceInFlight = true
            lastVoteAt = now
            return [.askWitness(.force(node: node, epoch: Epoch(epoch.rawValue + 1)))]
        }
        let silent = now - lastPrimaryContactAt >= settings.failureTimeoutMilliseconds
        guard silent || primaryUnreachable, now >= promisedUntil, !voteInFlight,
              lastVoteAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true else { return [] }
        voteInFlight = true
        lastVoteAt = now
        return [.askWitness(.vote(node: node, epoch: Epoch(epoch.rawValue + 1), durableLSN: facts.durableLSN,
                                  maxLagBytes: settings.maxLagOnFailoverBytes))]
    }

    // MARK: The witness

    /// The witness answered `request`, which the shell sent at `sentAtMilliseconds`.
    public mutating func witnessAnswered(_ request: WitnessRequest, reply: WitnessReply, sentAtMilliseconds sentAt: Int64,
                                         nowMilliseconds now: Int64) -> [CoordinatorAction] {
        requestSettled(request)
        if case .vote = request { voteOutcomeUnknown = false }
        switch reply {
        case .denied(let reason):
            lastDenial = reason
            if case .vote = request, resumingEpoch != nil {
                // Resuming was refused (the record moved on): ask again who is primary.
                resumingEpoch = nil
            }
            return []
        case .staleEpoch(let newer, let primary):
            return learned(epoch: newer, primary: primary, now: now)
        case .state(let record):
            if record.epoch > epoch || (record.epoch == epoch && record.primary != node && role == .primary) {
                if record.primary == node, role != .primary {
                    if case .vote(_, let asked, _, _) = request, asked == record.epoch {
                        resumingEpoch = nil
                        return becomePrimary(epoch: record.epoch, standbyInSync: record.standbyInSync, now: now)
                    }
                    if role == .undecided {
                        resumingEpoch = max(resumingEpoch ?? record.epoch, record.epoch)
                        return []
                    }
                    return becomePrimary(epoch: record.epoch, standbyInSync: record.standbyInSync, now: now)
                }
                return learned(epoch: record.epoch, primary: record.primary, now: now)
            }
            switch request {
            case .hello:
                guard role == .undecided, resumingEpoch == nil, let primary = record.primary,
                      record.epoch >= epoch || primary != node else { return [] }
                if primary == node {
                    resumingEpoch = max(epoch, record.epoch)
                    return []
                }
                return becomeStandby(epoch: max(epoch, record.epoch), primary: primary, now: now)
            case .vote(_, let asked, _, _):
                guard role != .primary, record.epoch == asked, record.primary == node else {
                    if role == .undecided, resumingEpoch != nil {
                        resumingEpoch = nil  // someone else holds it now: start over with HELLO
                    }
                    return []
                }
                resumingEpoch = nil
                return becomePrimary(epoch: asked, standbyInSync: record.standbyInSync, now: now)
            case .heartbeat(let beat):
                guard role == .primary, beat.epoch == epoch, record.primary == node else { return [] }
                standbyInSync = record.standbyInSync
                return renewLease(sentAt: sentAt, now: now)
            case .handover, .force, .status:
                return []
            case .standbySync(_, let asked, let inSync, _):
                guard role == .primary, asked == epoch, record.epoch == epoch else { return [] }
                standbyInSync = record.standbyInSync
                // Only the answer to our own "not in sync" lets writes go on alone.
                guard settings.mode == .sync, !inSync, !record.standbyInSync, !alone else { return [] }
                alone = true
                return [.acknowledgeAlone(true)]
            }
        }
    }

    /// The request got no answer (connection lost or refused).
    public mutating func witnessUnreachable(_ request: WitnessRequest) -> [CoordinatorAction] {
        requestSettled(request)
        if case .vote = request { voteOutcomeUnknown = true }
        if case .force = request, forcing { forceWitnessUnreachable = true }
        return []
    }

    private mutating func requestSettled(_ request: WitnessRequest) {
        switch request {
        case .hello: helloInFlight = false
        case .heartbeat: heartbeatsInFlight = max(0, heartbeatsInFlight - 1)
        case .vote: voteInFlight = false
        case .standbySync: syncRequestInFlight = false
        case .force: forceInFlight = false
        case .handover, .status: break
        }
    }

    private mutating func syncRequest(inSync: Bool, now: Int64) -> CoordinatorAction {
        syncRequestInFlight = true
        syncSequence = max(syncSequence + 1, UInt64(max(0, now)))
        return .askWitness(.standbySync(node: node, epoch: epoch, inSync: inSync, sequence: syncSequence))
    }

    // MARK: The peer

    /// Primary: the standby acknowledged the heartbeat this node sent at `sentAt`, in `ackEpoch`.
    public mutating func standbyEchoedHeartbeat(sentAtMilliseconds sentAt: Int64, epoch ackEpoch: Epoch,
                                                nowMilliseconds now: Int64) -> [CoordinatorAction] {
        if ackEpoch > epoch { return learned(epoch: ackEpoch, primary: nil, now: now) }
        guard role == .primary, ackEpoch == epoch else { return [] }
        lastStandbyContactAt = now
        return renewLease(sentAt: sentAt, now: now)
    }

    /// Primary: any acknowledgement from the standby (it is alive and attached).
    public mutating func standbyHeard(nowMilliseconds now: Int64) {
        if role == .primary { lastStandbyContactAt = now }
    }

    /// Standby: a heartbeat of `heartbeatEpoch` arrived from the primary. Returns whether to
    /// echo it — echoing is the promise; a node that asked for a vote makes none.
    public mutating func primaryHeartbeat(epoch heartbeatEpoch: Epoch, nowMilliseconds now: Int64) -> Bool {
        guard role == .standby, heartbeatEpoch >= epoch, !voteInFlight, !voteOutcomeUnknown, !forcing else { return false }
        epoch = heartbeatEpoch
        lastPrimaryContactAt = now
        primaryUnreachable = false
        heardFromPrimary = true
        promisedUntil = max(promisedUntil, now + settings.promiseMilliseconds)
        return true
    }

    /// Standby: the primary's address refused a connection — its process is gone. A faster
    /// signal than the failure timeout; the promise and the witness still decide.
    public mutating func primaryRefusedConnection() {
        if role == .standby, heardFromPrimary { primaryUnreachable = true }
    }

    /// Standby: the primary hands over the next epoch (planned switchover; the witness has
    /// recorded it). Ask the witness to confirm it (a vote for that epoch) and take it.
    public mutating func handoverOffered(epoch offered: Epoch, nowMilliseconds now: Int64) -> [CoordinatorAction] {
        guard role == .standby, offered > epoch, !voteInFlight else { return [] }
        voteInFlight = true
        lastVoteAt = now
        return [.askWitness(.vote(node: node, epoch: offered, durableLSN: .zero, maxLagBytes: 0))]
    }

    /// Standby: an operator forces promotion. The node makes no more promises; once the last
    /// one has run out it asks the witness for the next epoch, and without a witness takes it.
    public mutating func forcePromotion() -> Bool {
        guard role == .standby else { return false }
        forcing = true
        forceWitnessUnreachable = false
        return true
    }

    /// The operator's forced promotion did not happen in time: stop trying (the node makes
    /// promises again from its next heartbeat).
    public mutating func cancelForcePromotion() {
        forcing = false
        forceWitnessUnreachable = false
    }

    /// Someone carries a higher epoch (the stream, a handshake, a peer): a primary steps down.
    public mutating func observed(epoch seen: Epoch, primary: String?, nowMilliseconds now: Int64) -> [CoordinatorAction] {
        learned(epoch: seen, primary: primary, now: now)
    }

    // MARK: Transitions

    private mutating func learned(epoch newer: Epoch, primary: String?, now: Int64) -> [CoordinatorAction] {
        guard newer > epoch || (newer == epoch && role == .primary && primary != nil && primary != node) else { return [] }
        epoch = newer
        resumingEpoch = nil
        if primary == node, role == .undecided {
            resumingEpoch = newer  // a restarted primary asks for the next epoch, never resumes one
            return []
        }
        if primary == node, role != .primary {
            // The witness's sync state is not known here: wait for the standby (the safe side)
            // until the witness's answer to a heartbeat says otherwise.
            return becomePrimary(epoch: newer, standbyInSync: true, now: now)
        }
        guard role != .standby else { return [] }
        return becomeStandby(epoch: newer, primary: primary, now: now)
    }

    private mutating func becomePrimary(epoch newEpoch: Epoch, standbyInSync inSync: Bool, now: Int64) -> [CoordinatorAction] {
        role = .primary
        epoch = newEpoch
        standbyInSync = inSync
        alone = settings.mode == .sync && !inSync
        leaseExpiresAtMilliseconds = nil
        lastHeartbeatAt = nil
        heartbeatsInFlight = 0
        syncRequestInFlight = false
        lastStandbyContactAt = now
        lastDenial = nil
        forcing = false
        forceWitnessUnreachable = false
        return [.becomePrimary(epoch: newEpoch, acknowledgeAlone: settings.mode == .sync && !inSync)]
    }

    private mutating func becomeStandby(epoch newEpoch: Epoch, primary: String?, now: Int64) -> [CoordinatorAction] {
        role = .standby
        epoch = newEpoch
        leaseExpiresAtMilliseconds = nil
        // A primary that is itself starting asks for a new epoch only after its own promise
        // has run out: give it that long before the failure timeout starts to count.
        lastPrimaryContactAt = now + settings.promiseMilliseconds
        primaryUnreachable = false
        heardFromPrimary = false
        voteInFlight = false
        lastVoteAt = nil
        return [.becomeStandby(epoch: newEpoch, primary: primary)]
    }

    private mutating func renewLease(sentAt: Int64, now: Int64) -> [CoordinatorAction] {
        let expiry = sentAt + settings.leaseMilliseconds
        guard expiry > (leaseExpiresAtMilliseconds ?? Int64.min) else { return [] }
        let wasHeld = hasLease(nowMilliseconds: now)
        leaseExpiresAtMilliseconds = expiry
        return !wasHeld && hasLease(nowMilliseconds: now) ? [.leaseAcquired] : []
    }
}

/// What the shell does for the coordinator, in order.
public enum CoordinatorAction: Hashable, Sendable {
    /// Send the request to the witness; report its answer (`witnessAnswered`) with the time
    /// it was sent, or `witnessUnreachable`.
    case askWitness(WitnessRequest)
    /// Send a heartbeat on the replication stream carrying `sentAtMilliseconds`, for the
    /// standby to echo in its acknowledgement.
    case sendStandbyHeartbeat(sentAtMilliseconds: Int64)
    /// Become primary of `epoch`: persist the epoch (fsync) first if it is new, then take
    /// writes. In sync mode with `acknowledgeAlone`, writes need only this node's disk.
    case becomePrimary(epoch: Epoch, acknowledgeAlone: Bool)
    /// Stop acting as primary at once (fail what waits, refuse writes) and follow `primary`.
    case becomeStandby(epoch: Epoch, primary: String?)
    /// Sync mode: whether a write may be acknowledged without the standby. `false` MUST take
    /// effect before the request that follows it is sent.
    case acknowledgeAlone(Bool)
    /// The lease was regained: replies held for it may go out.
    case leaseAcquired
}
