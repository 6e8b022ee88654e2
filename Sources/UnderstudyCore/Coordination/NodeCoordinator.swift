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
/// - A node becomes primary only through a grant: the witness's answer to this node's own
///   vote or forced promotion for exactly that epoch, or an operator's forced promotion
///   without a witness. Nothing else — a `HELLO` answer, a stale-epoch reply, `FENCE`, a
///   stream — ever promotes it; those can only make it step down.
/// - A new primary holds no lease while a promise it made as a standby still runs
///   (`hasLease` waits for `promisedUntil`), so a grant that arrives late can never overlap
///   the lease of the primary it promised to.
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
        /// The epochs the records at `lastWrittenLSN` and `durableLSN` were written in
        /// (`Epoch(0)`: no record): a witness that lost its record compares logs by them.
        public var lastWrittenEpoch: Epoch
        public var durableEpoch: Epoch
        /// Primary: the standby's acknowledged durable LSN and lag in bytes, if known.
        public var standbyDurableLSN: LSN?
        public var standbyLagBytes: Int64?
        /// Primary: a standby is attached and has every write released so far.
        public var standbyHoldsEveryReleasedWrite: Bool
        /// Primary: the last LSN acknowledged to clients.
        public var commitLSN: LSN
        /// Primary: a standby is attached (a primary alone tells its peer its epoch).
        public var standbyAttached: Bool

        public init(lastWrittenLSN: LSN, durableLSN: LSN, lastWrittenEpoch: Epoch = Epoch(0), durableEpoch: Epoch = Epoch(0),
                    standbyDurableLSN: LSN? = nil, standbyLagBytes: Int64? = nil,
                    standbyHoldsEveryReleasedWrite: Bool = false, commitLSN: LSN = .zero, standbyAttached: Bool = false) {
            self.lastWrittenEpoch = lastWrittenEpoch
            self.durableEpoch = durableEpoch
            self.commitLSN = commitLSN
            self.standbyAttached = standbyAttached
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
    /// Primary, sync mode: a standby attached below the commit point (it lacks acknowledged
    /// writes, e.g. re-seeded with an empty directory); until the witness has recorded it
    /// out of sync, the next tick asks it to.
    private var standbyAttachedBehind = false
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
    /// A forced promotion went unanswered after it was cancelled: it may yet be granted, so
    /// no promise is made until the witness has answered this node again.
    private var forceOutcomeUnknown = false
    /// Primary by a forced promotion the witness never recorded: its epoch was chosen from
    /// this node's own knowledge, which may be behind (it may never have heard the current
    /// primary). Cleared when the witness backs it.
    private var epochUnconfirmed = false
    /// Primary by a forced promotion taken without the witness: the epoch of the newest record
    /// it held when it took its own. Its heartbeats and `FENCE`s carry it, so that neither
    /// the witness nor the peer lets it supersede a primary made after that epoch (one that
    /// may hold writes it acknowledged meanwhile: the simulator's finding H).
    private var forcedFromEpoch: Epoch?
    /// Primary alone: when it last told its peer its epoch (`FENCE`).
    private var lastFenceNoticeAt: Int64?
    /// The other data node's name, as the witness's records name it (for `FENCE`).
    public private(set) var peer: String?
    /// The cluster's identity, made by the witness at bootstrap; nil until a record carrying
    /// it has been seen (the shell persists it and passes it in at start).
    public private(set) var clusterID: String?


    /// - Parameter nowMilliseconds: start time. Any promise this node made before a restart
    ///   is assumed still to run, so it votes no sooner than a promise after now.
    public init(node: String, hint: ReplicationRole?, epoch: Epoch, settings: CoordinationSettings, nowMilliseconds now: Int64,
                clusterID: String? = nil) {
        self.node = node
        self.hint = hint
        self.epoch = epoch
        self.settings = settings
        self.clusterID = clusterID
        promisedUntil = now + settings.promiseMilliseconds
    }

    /// Whether a primary may acknowledge a write or serve a read now: it holds an unexpired
    /// lease, and no promise it made as a standby (to the previous primary) still runs.
    public func hasLease(nowMilliseconds now: Int64) -> Bool {
        guard role == .primary, let expiry = leaseExpiresAtMilliseconds else { return false }
        return now < expiry && now >= promisedUntil
    }

    /// Why a record from the witness cannot be this cluster's, or nil. A node without an
    /// identity learns it here only from the bootstrap record naming it the cluster's first
    /// primary (epoch 1): a standby learns it from its primary's stream, so a node whose data
    /// directory was emptied has none — and gets no vote — until it has streamed again. Not
    /// even when a later record names it primary: that grant was made to the node before its
    /// disk was lost (a vote that arrived after it crashed), and its log is not that
    /// primary's (the simulator's finding C).
    private mutating func adoptIdentity(of record: WitnessRecord) -> String? {
        guard let theirs = record.clusterID else { return nil }
        guard let mine = clusterID else {
            if record.primary == node, record.epoch == .initial { clusterID = theirs }
            return nil
        }
        return mine == theirs ? nil : "the witness serves cluster \(theirs), this node's data belongs to cluster \(mine)"
    }

    /// Standby: the primary accepted this node's stream and named its cluster. Returns why
    /// it cannot be followed (another cluster), or nil; a node without an identity learns it.
    public mutating func primaryStreams(clusterID theirs: String?) -> String? {
        if let refusal = identityRefusal(ofPeerClaiming: theirs) { return refusal }
        if clusterID == nil { clusterID = theirs }
        return nil
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
                                          maxLagBytes: settings.maxLagOnFailoverBytes, clusterID: clusterID,
                                          durableRecordEpoch: facts.durableEpoch))]
            }
            guard !helloInFlight, lastHelloAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true else { return [] }
            helloInFlight = true
            lastHelloAt = now
            return [.askWitness(.hello(node: node, hint: hint, epoch: epoch, lastLSN: facts.lastWrittenLSN, clusterID: clusterID,
                                       lastRecordEpoch: facts.lastWrittenEpoch))]
        case .primary:
            return primaryTick(now: now, facts: facts)
        case .standby:
            return standbyTick(now: now, facts: facts)
        }
    }

    private mutating func primaryTick(now: Int64, facts: LogFacts) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        if !facts.standbyAttached, let clusterID,
           lastFenceNoticeAt.map({ now - $0 >= NodeLimits.standard.fenceNoticeIntervalHeartbeats * settings.heartbeatIntervalMilliseconds }) ?? true {
            lastFenceNoticeAt = now
            actions.append(.fencePeer(epoch: epoch, clusterID: clusterID, forcedFrom: epochUnconfirmed ? forcedFromEpoch : nil))
        }
        if lastHeartbeatAt.map({ now - $0 >= settings.heartbeatIntervalMilliseconds }) ?? true {
            lastHeartbeatAt = now
            actions.append(.sendStandbyHeartbeat(sentAtMilliseconds: now))
            if heartbeatsInFlight < NodeLimits.standard.maxWitnessHeartbeatsInFlight {
                heartbeatsInFlight += 1
                actions.append(.askWitness(.heartbeat(WitnessHeartbeat(
                    node: node, epoch: epoch, mode: settings.mode, leaseMilliseconds: settings.leaseMilliseconds,
                    lastWrittenLSN: facts.lastWrittenLSN, standbyDurableLSN: facts.standbyDurableLSN,
                    standbyLagBytes: facts.standbyLagBytes, commitLSN: facts.commitLSN, clusterID: clusterID,
                    standbyAttached: facts.standbyAttached, forcedFromEpoch: epochUnconfirmed ? forcedFromEpoch : nil))))
            }
        }
        guard settings.mode == .sync, !syncRequestInFlight else { return actions }
        let standbyHeard = now - lastStandbyContactAt < settings.failureTimeoutMilliseconds
        if !alone, !standbyHeard || standbyAttachedBehind {
            // The standby is gone, or came back without every acknowledged write: writes wait
            // until the witness records that, then go on alone.
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
                // It skips ahead, so the witness — which grants the epoch above the highest a
                // node asking it knows — does not grant the same epoch to the old primary
                // before it hears of this one (the simulator's finding F).
                // Its base is the epoch of the newest record it holds, not the highest epoch it
                // has heard of: a primary of an epoch it only heard named (from the witness, say)
                // may hold writes it lacks (simulator seed 911856).
                let base = facts.lastWrittenEpoch
                let actions = becomePrimary(epoch: Epoch(epoch.rawValue + Self.forcedAloneEpochStride), standbyInSync: false, now: now)
                epochUnconfirmed = true
                forcedFromEpoch = base
                return actions
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
                                  maxLagBytes: settings.maxLagOnFailoverBytes, clusterID: clusterID,
                                  durableRecordEpoch: facts.durableEpoch))]
    }

    // MARK: The witness

    /// The witness answered `request`, which the shell sent at `sentAtMilliseconds`.
    public mutating func witnessAnswered(_ request: WitnessRequest, reply: WitnessReply, sentAtMilliseconds sentAt: Int64,
                                         nowMilliseconds now: Int64) -> [CoordinatorAction] {
        requestSettled(request)
        if case .vote = request { voteOutcomeUnknown = false }
        if case .force = request { forceOutcomeUnknown = false }
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
            if let mismatch = adoptIdentity(of: record) {
                lastDenial = mismatch
                return []
            }
            if let other = [record.primary, record.standby].compactMap({ $0 }).first(where: { $0 != node }) { peer = other }
            if case .heartbeat(let beat) = request, role == .primary, beat.epoch == epoch, record.primary == node,
               record.epoch > epoch {
                // The witness backs this primary over a forced epoch it never granted, and
                // grants it the epoch above that one in answer to its own heartbeat: it moves
                // there and goes on (the forced primary follows it).
                let actions = becomePrimary(epoch: record.epoch, standbyInSync: record.standbyInSync, now: now)
                return actions + renewLease(sentAt: sentAt, now: now)
            }
            if record.epoch > epoch || (record.epoch == epoch && record.primary != node && role == .primary) {
                if record.primary == node, role != .primary {
                    if Self.grants(request, epoch: record.epoch) {
                        resumingEpoch = nil
                        return becomePrimary(epoch: record.epoch, standbyInSync: record.standbyInSync, now: now)
                    }
                    // Named primary without having asked for that epoch: ask for the next one.
                    if role == .undecided {
                        resumingEpoch = max(resumingEpoch ?? record.epoch, record.epoch)
                    } else {
                        epoch = record.epoch  // a standby asks for the next one when no primary is heard
                    }
                    return []
                }
                return learned(epoch: record.epoch, primary: record.primary, now: now)
            }
            switch request {
            case .hello:
                guard role == .undecided, resumingEpoch == nil, let primary = record.primary else { return [] }
                if primary == node {
                    // Named primary, also of an epoch below one it heard of (a FENCE it took,
                    // which may name an epoch never granted): it asks for the next one above both.
                    resumingEpoch = max(epoch, record.epoch)
                    return []
                }
                return becomeStandby(epoch: max(epoch, record.epoch), primary: primary, now: now)
            case .vote(_, let asked, _, _, _, _):
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
                epochUnconfirmed = false
                return renewLease(sentAt: sentAt, now: now)
            case .handover, .force, .status:
                return []
            case .standbySync(_, let asked, let inSync, _):
                guard role == .primary, asked == epoch, record.epoch == epoch else { return [] }
                standbyInSync = record.standbyInSync
                if !record.standbyInSync { standbyAttachedBehind = false }
                // Only the answer to our own "not in sync" lets writes go on alone.
                guard settings.mode == .sync, !inSync, !record.standbyInSync, !alone else { return [] }
                alone = true
                return [.acknowledgeAlone(true)]
            }
        }
    }

    /// Whether `request` is this node's own request for exactly `epoch`, whose `.state`
    /// answer naming it primary is therefore a grant.
    private static func grants(_ request: WitnessRequest, epoch: Epoch) -> Bool {
        switch request {
        case .vote(_, let asked, _, _, _, _), .force(_, let asked): return asked == epoch
        case .hello, .heartbeat, .standbySync, .handover, .status: return false
        }
    }

    /// The request got no answer (connection lost or refused).
    public mutating func witnessUnreachable(_ request: WitnessRequest) -> [CoordinatorAction] {
        requestSettled(request)
        if case .vote = request { voteOutcomeUnknown = true }
        if case .force = request {
            if forcing { forceWitnessUnreachable = true } else { forceOutcomeUnknown = true }
        }
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

    /// Primary: a standby attached offering its log up to `standbyLastLSN`. In sync mode one
    /// below `commitLSN` lacks acknowledged writes: it is recorded out of sync at the next
    /// tick, and no vote for it succeeds meanwhile (the heartbeat carries `commitLSN`).
    public mutating func standbyAttached(standbyLastLSN: LSN, commitLSN: LSN) {
        guard role == .primary, settings.mode == .sync, standbyLastLSN < commitLSN else { return }
        standbyAttachedBehind = true
    }

    /// Primary: any acknowledgement from the standby (it is alive and attached).
    public mutating func standbyHeard(nowMilliseconds now: Int64) {
        if role == .primary { lastStandbyContactAt = now }
    }

    /// Standby: a heartbeat of `heartbeatEpoch` arrived from the primary, which counts a
    /// lease of `primaryLeaseMilliseconds` from it (nil: a peer too old to say; its own
    /// lease is assumed). Returns whether to echo it — echoing is the promise, made for the
    /// longer of the two leases plus drift; a node whose vote or forced promotion is out (or
    /// may have been granted) makes none.
    public mutating func primaryHeartbeat(epoch heartbeatEpoch: Epoch, primaryLeaseMilliseconds: Int64? = nil,
                                          nowMilliseconds now: Int64) -> Bool {
        guard role == .standby, heartbeatEpoch >= epoch, !voteInFlight, !voteOutcomeUnknown, !forcing, !forceInFlight,
              !forceOutcomeUnknown else { return false }
        epoch = heartbeatEpoch
        lastPrimaryContactAt = now
        primaryUnreachable = false
        heardFromPrimary = true
        let lease = max(settings.leaseMilliseconds, primaryLeaseMilliseconds ?? 0)
        let drift = max(settings.driftMarginMilliseconds, CoordinationSettings.defaultDriftMargin(leaseMilliseconds: lease))
        promisedUntil = max(promisedUntil, now + lease + drift)
        return true
    }

    /// Primary: the peer refused this node's `FENCE` because it is itself primary of
    /// `peerEpoch`, not older. That happens only after a forced promotion without the
    /// witness by a standby that had not yet heard the current epoch: two primaries would
    /// share an epoch. The forced primary (never the one the witness made) takes the epoch
    /// above the peer's; it held no lease meanwhile, so nothing was acknowledged in the old one.
    public mutating func peerIsPrimary(ofEpoch peerEpoch: Epoch, nowMilliseconds now: Int64) -> [CoordinatorAction] {
        guard role == .primary, epochUnconfirmed, peerEpoch >= epoch, !hasLease(nowMilliseconds: now) else { return [] }
        let base = forcedFromEpoch
        let actions = becomePrimary(epoch: Epoch(peerEpoch.rawValue + 1), standbyInSync: false, now: now)
        epochUnconfirmed = true
        forcedFromEpoch = base
        lastFenceNoticeAt = nil  // tell the peer the new epoch at the next tick
        return actions
    }

    /// Primary by a forced promotion the witness has not backed yet: the highest epoch this
    /// node knew of when it took its own (nil otherwise). Epochs above it were made without
    /// this node's knowledge, and whoever holds them may hold writes acknowledged since.
    public var unconfirmedForcedFromEpoch: Epoch? { role == .primary && epochUnconfirmed ? forcedFromEpoch : nil }

    /// Standby: the primary's address refused a connection — its process is gone. A faster
    /// signal than the failure timeout; the promise and the witness still decide.
    public mutating func primaryRefusedConnection() {
        if role == .standby, heardFromPrimary { primaryUnreachable = true }
    }

    /// Standby: the primary hands over the next epoch (planned switchover; the witness has
    /// recorded it). Ask the witness to confirm it (a vote for that epoch) and take it.
    public mutating func handoverOffered(epoch offered: Epoch, durableLSN: LSN, durableEpoch: Epoch,
                                         nowMilliseconds now: Int64) -> [CoordinatorAction] {
        guard role == .standby, offered > epoch, !voteInFlight else { return [] }
        // The primary this node promised to has handed over: it no longer holds a lease
        // (it holds every write), so the promise made to it is released by its beneficiary.
        promisedUntil = min(promisedUntil, now)
        voteInFlight = true
        lastVoteAt = now
        return [.askWitness(.vote(node: node, epoch: offered, durableLSN: durableLSN, maxLagBytes: 0, clusterID: clusterID,
                                  durableRecordEpoch: durableEpoch))]
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

    /// Someone carries a higher epoch (the stream, a handshake): a primary steps down.
    /// Never promotes this node, whatever `primary` says.
    public mutating func observed(epoch seen: Epoch, primary: String?, nowMilliseconds now: Int64) -> [CoordinatorAction] {
        learned(epoch: seen, primary: primary == node ? nil : primary, now: now)
    }

    /// `FENCE <epoch> <primary> <cluster>` from the peer: it is primary of `epoch` (a forced
    /// promotion this node missed). It can only demote: a primary of an older epoch steps
    /// down and follows the peer; anything else is refused and changes nothing.
    /// - Parameter mutationPromotes: the simulator's `fence-promotes` mutation (false in production).
    ///
    /// A primary that holds its lease refuses it: by the lease argument no voter can have
    /// backed a newer epoch meanwhile, so the sender was forced without the witness and holds
    /// no lease; the witness settles which of the two goes on. So does a primary made after
    /// the epoch a forced sender was forced from (`forcedFrom`) that has acknowledged writes in
    /// its epoch (`acknowledgedInThisEpoch`): the sender never had them (the simulator's
    /// finding H). One that acknowledged nothing there loses nothing by following it.
    public mutating func fenced(epoch seen: Epoch, by primary: String, clusterID claimed: String, forcedFrom: Epoch? = nil,
                                acknowledgedInThisEpoch: Bool = false,
                                nowMilliseconds now: Int64, mutationPromotes: Bool = false) -> Result<[CoordinatorAction], FenceRefusal> {
        guard let clusterID, claimed == clusterID else { return .failure(.foreignCluster) }
        if mutationPromotes, primary == node, role == .standby, seen > epoch {
            return .success(becomePrimary(epoch: seen, standbyInSync: false, now: now))
        }
        guard primary != node, let peer, primary == peer else { return .failure(.notThePeer) }
        guard role == .primary else { return .failure(.notPrimary(epoch: epoch)) }
        guard seen > epoch else { return .failure(.notNewer(epoch: epoch)) }
        guard seen <= Epoch.highestPlausible else { return .failure(.implausible(epoch: seen)) }
        guard !hasLease(nowMilliseconds: now) else { return .failure(.holdsLease(epoch: epoch)) }
        if let forcedFrom, forcedFrom < epoch, acknowledgedInThisEpoch {
            return .failure(.madeAfterTheForcedEpoch(epoch: epoch, forcedFrom: forcedFrom))
        }
        return .success(learned(epoch: seen, primary: primary, now: now))
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
        guard role != .standby else { return [] }
        // Told it is primary of a newer epoch it never asked for: it is not (only a grant
        // promotes); it follows whoever is, once it learns who.
        return becomeStandby(epoch: newer, primary: primary == node ? nil : primary, now: now)
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
        standbyAttachedBehind = false
        epochUnconfirmed = false
        forcedFromEpoch = nil
        lastFenceNoticeAt = nil
        lastStandbyContactAt = now
        lastDenial = nil
        forcing = false
        forceWitnessUnreachable = false
        forceOutcomeUnknown = false
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
