/// The witness as a pure state machine: it stores no user data, only a `WitnessRecord`,
/// and votes so that 2 of {primary, standby, witness} are needed for any promotion.
///
/// Every request returns a `WitnessResponse`; when its `persist` is set the shell MUST
/// write that record durably (fsync) before it sends the reply, so that no answer ever
/// depends on state a crash could take back.
///
/// The promise: answering a heartbeat of epoch E, the witness promises not to vote for
/// any epoch above E for the heartbeat's lease plus a drift margin, on its own clock. The
/// promise lives in memory, so a restarted witness assumes the longest lease it has
/// recorded was promised just before it stopped.
public struct Witness: Sendable {
    /// The data nodes' names (their `--listen` addresses), in `--nodes` order.
    public let nodes: [String]
    /// nil until the first primary is chosen (a new cluster).
    public private(set) var record: WitnessRecord?
    /// No vote for a higher epoch before this instant.
    public private(set) var promisedUntilMilliseconds: Int64
    /// The current primary's last heartbeat: what a vote's eligibility is judged on.
    public private(set) var lastReport: WitnessHeartbeat?
    /// The newest `SYNC` sequence seen from the current primary (memory only).
    private var lastSyncSequence: (epoch: Epoch, sequence: UInt64)?
    /// New cluster: what each node said in its `HELLO`.
    private var hellos: [String: (epoch: Epoch, logEpoch: Epoch, lastLSN: LSN, hint: ReplicationRole?, clusterID: String?)] = [:]
    /// When this witness started: one without a record backs no lease until any lease it
    /// may have backed before it lost its disk has run out.
    private let startedAtMilliseconds: Int64
    /// The identity a cluster bootstrapped here gets (the shell's randomness).
    private let newClusterID: String?
    /// The epoch this witness last granted to a node's own vote: only that vote, asked
    /// again, is answered without the checks (memory only).
    private var lastVoteGrant: (epoch: Epoch, node: String)?
    /// A witness without a record that hears from members (nodes carrying the cluster
    /// identity) lost its record: what each said — the epoch it knows, its log's end, the
    /// lease it runs with (memory only).
    private var lostRecordClaims: [String: LostRecordClaim] = [:]

    /// What a node said to a witness that lost its record.
    private struct LostRecordClaim {
        /// The highest epoch the node knows of (the grant goes above it).
        var epoch: Epoch
        /// The epoch of the node's record at `lastLSN`: logs are ranked by (this, `lastLSN`).
        var logEpoch: Epoch
        var lastLSN: LSN
        var leaseMilliseconds: Int64
        /// nil: a node with an emptied (or new) data directory — never chosen over a member.
        var clusterID: String?
        /// It heartbeats as the primary of `epoch`.
        var actsAsPrimary: Bool
    }
    /// A primary of an epoch this witness never granted (a forced promotion made without
    /// it) heartbeated while its record's primary may still act (its lease promised, or it
    /// was made after the forced epoch's base): that primary, at its next heartbeat, is
    /// granted the epoch above this one (memory only).
    private var newerPrimary: (epoch: Epoch, node: String)?
    /// The last planned switchover recorded: the new primary's vote for that epoch is
    /// confirmed if it offers at least the old primary's last record (memory only).
    private var lastHandover: (epoch: Epoch, to: String, lastLSN: LSN)?
    /// The primary the record names came back without the cluster identity (its data
    /// directory was emptied) in this epoch: what it held is gone with its disk, so the
    /// standby — which holds everything the cluster still has — may be promoted though it is
    /// not recorded in sync (memory only; the simulator's finding C).
    public private(set) var primaryLostItsDiskInEpoch: Epoch?
    /// The record's primary came back (a restart, a machine crash under `--fsync everysec`)
    /// and offered less than its standby held at its last report, in this epoch: whatever it
    /// lacks is gone from every disk but the standby's, so that standby — holding at least
    /// `standbyDurable` — is the one to promote, in sync or not, lagging or not (memory only;
    /// without it neither node could go on).
    private var primaryCameBackShort: (epoch: Epoch, standbyDurable: LSN)?
    /// The record's standby came back without the cluster identity in this epoch: what it
    /// held (and the primary may lack) is gone (memory only).
    private var standbyLostItsDiskInEpoch: Epoch?

    /// The reply and, if set, the record to persist before sending it.
    public struct Response: Hashable, Sendable {
        public var reply: WitnessReply
        public var persist: WitnessRecord?
    }

    /// - Parameter newClusterID: the identity a cluster bootstrapped by this witness gets
    ///   (`ClusterIdentity.make` over the shell's randomness).
    public init(nodes: [String], record: WitnessRecord?, nowMilliseconds: Int64, newClusterID: String? = nil) {
        precondition(nodes.count == 2 && nodes[0] != nodes[1], "A witness serves exactly two distinct nodes")
        self.nodes = nodes
        self.record = record
        self.startedAtMilliseconds = nowMilliseconds
        self.newClusterID = newClusterID
        let promise = record.map { $0.leaseMilliseconds + CoordinationSettings.defaultDriftMargin(leaseMilliseconds: $0.leaseMilliseconds) } ?? 0
        promisedUntilMilliseconds = nowMilliseconds + promise
    }

    /// Answers one request at `nowMilliseconds` (the witness's monotonic clock).
    public mutating func handle(_ request: WitnessRequest, nowMilliseconds now: Int64) -> Response {
        switch request {
        case .status:
            guard let record else { return deny("no primary has been chosen yet: waiting for the nodes' first HELLO") }
            return Response(reply: .state(record))
        case .hello(let node, let hint, let epoch, let lastLSN, let clusterID, let lastRecordEpoch):
            guard let name = member(node) else { return unknown(node) }
            if record == nil, clusterID != nil || !lostRecordClaims.isEmpty {
                return recoverLostRecord(from: name, LostRecordClaim(
                    epoch: epoch, logEpoch: lastRecordEpoch ?? epoch, lastLSN: lastLSN, leaseMilliseconds: 0, clusterID: clusterID, actsAsPrimary: false), now: now)
            }
            noteIfANodeLostItsDisk(name, clusterID: clusterID)
            return hello(name, hint: hint, epoch: epoch, logEpoch: lastRecordEpoch ?? epoch, lastLSN: lastLSN, clusterID: clusterID)
        case .heartbeat(var beat):
            guard let name = member(beat.node) else { return unknown(beat.node) }
            beat.node = name
            if record == nil {
                guard beat.clusterID != nil else { return deny("no primary has been chosen yet") }
                let standby = other(than: name)
                if beat.standbyAttached, lostRecordClaims[standby] == nil {
                    // Its standby streams from it in this epoch: it speaks for the standby.
                    lostRecordClaims[standby] = LostRecordClaim(
                        epoch: beat.epoch, logEpoch: beat.epoch, lastLSN: beat.standbyDurableLSN ?? .zero, leaseMilliseconds: beat.leaseMilliseconds,
                        clusterID: beat.clusterID, actsAsPrimary: false)
                }
                // The primary of `beat.epoch` writes in it: no log is newer than its own — unless
                // it was forced without the witness: holding no lease, it wrote nothing in its
                // epoch, and its log is no newer than the epoch it was forced from (the
                // simulator's finding H, with the witness's disk lost).
                var response = recoverLostRecord(from: name, LostRecordClaim(
                    epoch: beat.epoch, logEpoch: beat.forcedFromEpoch ?? beat.epoch, lastLSN: beat.lastWrittenLSN, leaseMilliseconds: beat.leaseMilliseconds,
                    clusterID: beat.clusterID, actsAsPrimary: true), now: now)
                if response.persist != nil {
                    // The answer backs this primary's lease: the promise and report of any heartbeat.
                    let answered = heartbeat(beat, now: now)
                    response.reply = answered.reply
                    response.persist = answered.persist ?? response.persist
                }
                return response
            }
            return heartbeat(beat, now: now)
        case .vote(let node, let epoch, let durableLSN, let maxLagBytes, let clusterID, let durableRecordEpoch):
            guard let name = member(node) else { return unknown(node) }
            if record == nil, clusterID != nil || !lostRecordClaims.isEmpty {
                let known = Epoch(max(1, epoch.rawValue) - 1)
                return recoverLostRecord(from: name, LostRecordClaim(
                    epoch: known, logEpoch: durableRecordEpoch ?? known, lastLSN: durableLSN, leaseMilliseconds: 0, clusterID: clusterID,
                    actsAsPrimary: false), askedEpoch: epoch, now: now)
            }
            noteIfANodeLostItsDisk(name, clusterID: clusterID)
            if let mine = record?.clusterID, clusterID != mine {
                // An emptied (or foreign) data directory: it holds nothing this cluster wrote.
                return deny(clusterID == nil
                    ? "\(name) has no cluster identity (an emptied data directory): it must stream from the primary before it can be promoted"
                    : "\(name) belongs to cluster \(clusterID!), this witness serves cluster \(mine)")
            }
            return vote(name, epoch: epoch, durableLSN: durableLSN, maxLagBytes: maxLagBytes, now: now)
        case .handover(let node, let epoch, let to, let leaving, let lastLSN):
            guard let name = member(node), let target = member(to) else { return unknown(member(node) == nil ? node : to) }
            guard let current = record, epoch == current.epoch, current.primary == name else {
                return stale(or: "\(name) is not the primary of epoch \(epoch)", epoch: epoch)
            }
            guard target == current.standby else { return deny("\(target) is not the standby of epoch \(epoch)") }
            // The primary holds every new write and its standby has every record: the old
            // primary, as the new standby, holds every acknowledged write — unless it is
            // leaving, and then the new primary may acknowledge alone at once.
            lastHandover = (Epoch(epoch.rawValue + 1), target, lastLSN)
            return adopt(WitnessRecord(
                epoch: Epoch(epoch.rawValue + 1), primary: target, standby: name, standbyInSync: !leaving,
                mode: current.mode, leaseMilliseconds: current.leaseMilliseconds, clusterID: current.clusterID))
        case .force(let node, let epoch):
            guard let name = member(node) else { return unknown(node) }
            guard let current = record else { return deny("no primary has been chosen yet") }
            if epoch == current.epoch, current.primary == name { return Response(reply: .state(current)) }
            guard epoch > current.epoch else { return Response(reply: .staleEpoch(current.epoch, primary: current.primary)) }
            // Eligibility is the operator's call; the one-writer rule is not: the promise holds.
            guard now >= promisedUntilMilliseconds else {
                return deny("the primary's lease is promised for another \(promisedUntilMilliseconds - now) ms")
            }
            lastReport = nil
            lastVoteGrant = (epoch, name)
            return adopt(WitnessRecord(
                epoch: epoch, primary: name, standby: other(than: name), standbyInSync: false, mode: current.mode,
                leaseMilliseconds: current.leaseMilliseconds, clusterID: current.clusterID))
        case .standbySync(let node, let epoch, let inSync, let sequence):
            guard let name = member(node) else { return unknown(node) }
            guard var current = record, epoch == current.epoch, current.primary == name else {
                return stale(or: "\(name) is not the primary of epoch \(epoch)", epoch: epoch)
            }
            if let last = lastSyncSequence, last.epoch == epoch, sequence <= last.sequence {
                return Response(reply: .state(current))  // a late request: the primary has moved on
            }
            lastSyncSequence = (epoch, sequence)
            guard current.standbyInSync != inSync else { return Response(reply: .state(current)) }
            current.standbyInSync = inSync
            return adopt(current)
        }
    }

    /// The node's name as listed in `--nodes`: an exact match, or — for a node listening on
    /// an unspecified address such as `0.0.0.0` — the one listed node with its port.
    public func member(_ claimed: String) -> String? {
        if nodes.contains(claimed) { return claimed }
        guard let colon = claimed.lastIndex(of: ":") else { return nil }
        let host = claimed[..<colon]
        guard host == "0.0.0.0" || host == "[::]" || host == "::" || host.isEmpty else { return nil }
        let port = claimed[colon...]
        let matches = nodes.filter { $0.hasSuffix(port) }
        return matches.count == 1 ? matches[0] : nil
    }

    private func other(than node: String) -> String {
        nodes[0] == node ? nodes[1] : nodes[0]
    }

    // MARK: Requests

    private mutating func hello(_ node: String, hint: ReplicationRole?, epoch: Epoch, logEpoch: Epoch, lastLSN: LSN,
                                clusterID: String?) -> Response {
        if var record {
            if let clusterID, let mine = record.clusterID, clusterID != mine {
                return deny("\(node) belongs to cluster \(clusterID), this witness serves cluster \(mine)")
            }
            if record.clusterID == nil, let identity = clusterID ?? newClusterID {
                record.clusterID = identity  // a record from before identities: it gets one now
                return adopt(record)
            }
            return Response(reply: .state(record))
        }
        hellos[node] = (epoch, logEpoch, lastLSN, hint, clusterID)
        let chosen: String
        if hint == .primary {
            chosen = node
        } else if let first = hellos[nodes[0]], let second = hellos[nodes[1]] {
            if first.hint == .primary { chosen = nodes[0] } else if second.hint == .primary { chosen = nodes[1] } else {
                // Neither asked to be primary: the one with the most of the log, the first listed on a tie.
                chosen = (second.epoch, second.lastLSN.rawValue) > (first.epoch, first.lastLSN.rawValue) ? nodes[1] : nodes[0]
            }
        } else {
            return deny("no primary yet: waiting for \(other(than: node)) or a node started with --role primary")
        }
        // A new cluster: its nodes have no identity yet (members are recovered above).
        let highest = hellos.values.map(\.epoch).max() ?? .initial
        return adopt(WitnessRecord(
            epoch: max(highest, .initial), primary: chosen, standby: other(than: chosen), standbyInSync: true,
            mode: .sync, leaseMilliseconds: 0, clusterID: newClusterID))
    }

    /// The witness lost its record (a member speaks to it and it has none). It names no
    /// primary and backs no lease until it has heard from both nodes — a primary that
    /// heartbeats first may be a stale one — and until any lease it may have backed before
    /// has run out. Then only the member with the most of the log (its last record's epoch,
    /// then the longest log, a primary before a standby on a tie) gets a record, and only on
    /// its own word: its heartbeat as primary of that highest epoch (the record continues
    /// it), or its vote for the epoch above every epoch either node knows (a grant) — so no
    /// epoch is ever granted to two nodes. Its standby is recorded not in sync (nothing is
    /// known of it).
    private mutating func recoverLostRecord(from node: String, _ claim: LostRecordClaim, askedEpoch: Epoch? = nil,
                                            now: Int64) -> Response {
        lostRecordClaims[node] = claim
        for (other, hello) in hellos where lostRecordClaims[other] == nil {  // said before a member spoke
            lostRecordClaims[other] = LostRecordClaim(epoch: hello.epoch, logEpoch: hello.logEpoch, lastLSN: hello.lastLSN,
                                                      leaseMilliseconds: 0,
                                                      clusterID: hello.clusterID, actsAsPrimary: false)
        }
        guard let first = lostRecordClaims[nodes[0]], let second = lostRecordClaims[nodes[1]] else {
            return deny("this witness has no record of this cluster: it names no primary before it has heard from \(other(than: node))")
        }
        let identities = Set([first.clusterID, second.clusterID].compactMap { $0 })
        guard identities.count == 1, let clusterID = identities.first else {
            return deny("the nodes belong to different clusters (\(identities.sorted().joined(separator: ", "))): refusing to join them")
        }
        let lease = max(first.leaseMilliseconds, second.leaseMilliseconds, Self.assumedLeaseMilliseconds)
        let drift = CoordinationSettings.defaultDriftMargin(leaseMilliseconds: lease)
        let waitUntil = startedAtMilliseconds + lease + drift
        guard now >= waitUntil else {
            return deny("this witness has no record: it backs no lease for another \(waitUntil - now) ms")
        }
        func rank(_ claim: LostRecordClaim) -> [UInt64] {
            // As logs are compared (finding D of the simulator): the epoch a node has heard
            // of says nothing of which writes it holds.
            [claim.clusterID == nil ? 0 : 1, claim.logEpoch.rawValue, claim.lastLSN.rawValue, claim.actsAsPrimary ? 1 : 0]
        }
        let chosen = rank(second).lexicographicallyPrecedes(rank(first)) || rank(second) == rank(first) ? nodes[0] : nodes[1]
        let highest = max(first.epoch, second.epoch)
        let epoch: Epoch
        if node == chosen, claim.actsAsPrimary, claim.epoch == highest {
            epoch = highest  // the primary of the highest epoch goes on in it
        } else if node == chosen, askedEpoch == Epoch(highest.rawValue + 1) {
            epoch = Epoch(highest.rawValue + 1)
            lastVoteGrant = (epoch, node)
        } else if node == chosen, askedEpoch == nil, !claim.actsAsPrimary {
            // Its HELLO: tell it (persisting nothing) that it is the one to ask for the next epoch.
            return Response(reply: .state(WitnessRecord(
                epoch: highest, primary: chosen, standby: other(than: chosen), standbyInSync: false, mode: .sync,
                leaseMilliseconds: lease, clusterID: clusterID)))
        } else if node == chosen, claim.epoch < highest {
            return Response(reply: .staleEpoch(highest, primary: nil))  // it learns the epoch to ask above
        } else {
            return deny("this witness lost its record: it waits for \(chosen), which holds the most of the log, to heartbeat as primary of epoch \(highest) or ask for epoch \(highest.rawValue + 1)")
        }
        lostRecordClaims = [:]
        return adopt(WitnessRecord(
            epoch: epoch, primary: chosen, standby: other(than: chosen), standbyInSync: false, mode: .sync,
            leaseMilliseconds: lease, clusterID: clusterID))
    }

    /// The lease a witness that lost its record assumes it may have backed, unless a
    /// heartbeat says the nodes run a longer one (the default `--lease`).
    public static let assumedLeaseMilliseconds: Int64 = 500

    private mutating func heartbeat(_ beat: WitnessHeartbeat, now: Int64) -> Response {
        var current: WitnessRecord
        if let record {
            if beat.epoch < record.epoch { return Response(reply: .staleEpoch(record.epoch, primary: record.primary)) }
            var jumpedOver: Epoch?
            if let newer = newerPrimary, beat.epoch == record.epoch, newer.epoch > beat.epoch, record.primary == beat.node,
               newer.node != beat.node {
                // A primary this witness never backed (an operator forced it without the
                // witness) yields to the one it backs, which is alive: that one moves above the
                // forced epoch at once — it may hold writes it acknowledged that the forced one
                // lacks (the simulator's finding H) — and the forced one then follows it.
                jumpedOver = newer.epoch
            }
            if beat.epoch == record.epoch, record.primary != beat.node {
                return deny("\(beat.node) is not the primary of epoch \(beat.epoch) (\(record.primary ?? "none") is)")
            }
            if let theirs = beat.clusterID, let mine = record.clusterID, theirs != mine {
                return deny("\(beat.node) belongs to cluster \(theirs), this witness serves cluster \(mine)")
            }
            current = record
            if current.clusterID == nil { current.clusterID = beat.clusterID }
            if let forced = jumpedOver {
                current.epoch = Epoch(forced.rawValue + 1)
            }
            if beat.epoch > record.epoch {
                // A primary of an epoch this witness never granted: an operator forced it
                // without the witness. Its epoch is higher, but it never supersedes a primary
                // this witness made after the epoch it was forced from (that one may hold writes
                // acknowledged meanwhile: finding H), nor one whose lease is still promised;
                // that primary moves above it at its next heartbeat. Only once the primary this
                // witness knows has gone silent (the promise ran out) is the forced one adopted.
                // (A record naming the forced node itself supersedes no other primary.)
                let madeSince = record.primary != beat.node && (beat.forcedFromEpoch.map { $0 < record.epoch } ?? false)
                    && !holdsAllThatIsLeft(beat.lastWrittenLSN, in: record.epoch)
                guard !madeSince, now >= promisedUntilMilliseconds else {
                    if beat.epoch < Epoch.highestPlausible, beat.epoch > newerPrimary?.epoch ?? .initial {
                        newerPrimary = (beat.epoch, beat.node)
                    }
                    if madeSince {
                        return deny("epoch \(beat.epoch) was forced without this witness from epoch \(beat.forcedFromEpoch!), and this witness has since made \(record.primary ?? "another node") primary of epoch \(record.epoch), which may hold writes acknowledged meanwhile: \(beat.node) yields to it (to promote \(beat.node) all the same, restart it and force it through this witness)")
                    }
                    return deny("epoch \(beat.epoch) was never granted here, and the lease of epoch \(record.epoch) is promised for another \(promisedUntilMilliseconds - now) ms")
                }
                newerPrimary = nil
                current = WitnessRecord(epoch: beat.epoch, primary: beat.node, standby: other(than: beat.node),
                                        standbyInSync: false, mode: beat.mode, leaseMilliseconds: beat.leaseMilliseconds,
                                        clusterID: current.clusterID)
            }
        } else {
            return deny("no primary has been chosen yet")
        }
        current.mode = beat.mode
        current.leaseMilliseconds = max(current.leaseMilliseconds, beat.leaseMilliseconds)
        let drift = CoordinationSettings.defaultDriftMargin(leaseMilliseconds: beat.leaseMilliseconds)
        promisedUntilMilliseconds = max(promisedUntilMilliseconds, now + beat.leaseMilliseconds + drift)
        lastReport = beat
        lastReport?.epoch = current.epoch
        return current == record ? Response(reply: .state(current)) : adopt(current)
    }

    /// A node the record names (in an epoch after the bootstrap) speaks without the cluster
    /// identity: its disk was lost. The primary's: the standby may be promoted though not
    /// recorded in sync. The standby's: a primary that came back short may resume with what
    /// it has, since what only the standby held is gone.
    private mutating func noteIfANodeLostItsDisk(_ node: String, clusterID: String?) {
        guard clusterID == nil, let current = record, current.clusterID != nil, current.epoch > .initial else { return }
        if current.primary == node { primaryLostItsDiskInEpoch = current.epoch }
        if current.standby == node { standbyLostItsDiskInEpoch = current.epoch }
    }

    private mutating func vote(_ node: String, epoch: Epoch, durableLSN: LSN, maxLagBytes: Int64, now: Int64) -> Response {
        guard let current = record else { return deny("no primary has been chosen yet") }
        if epoch == current.epoch, current.primary == node {
            if let grant = lastVoteGrant, grant.epoch == epoch, grant.node == node {
                return Response(reply: .state(current))  // the same vote asked again: its answer was lost
            }
            if let handover = lastHandover, handover.epoch == epoch, handover.to == node {
                // The new primary of a planned switchover confirms it: it must still hold
                // every record the old primary had when it handed over.
                guard durableLSN >= handover.lastLSN else {
                    return deny("\(node) offers LSN \(durableLSN), less than the \(handover.lastLSN) it held at the hand-over")
                }
                lastVoteGrant = (epoch, node)
                return Response(reply: .state(current))
            }
            // Recorded otherwise (a hand-over this witness no longer remembers, a grant from
            // before it restarted): no answer skips the checks; the node asks for the next epoch.
            return Response(reply: .staleEpoch(current.epoch, primary: current.primary))
        }
        // Above the next epoch, too: a node may have heard of an epoch this witness never
        // granted (a FENCE, a forced promotion without the witness) and asks above it.
        guard epoch > current.epoch, epoch <= Epoch.highestPlausible else {
            return Response(reply: .staleEpoch(current.epoch, primary: current.primary))
        }
        guard now >= promisedUntilMilliseconds else {
            return deny("the primary's lease is promised for another \(promisedUntilMilliseconds - now) ms")
        }
        if let report = lastReport, report.epoch == current.epoch {
            // No node is promoted with less than the primary acknowledged (sync) or than the
            // standby is known to hold: its log would be cut on rejoin. A primary that came
            // back with less than its standby held leaves the standby the one to promote.
            let standbyHeldMore = current.primary == node && standbyLostItsDiskInEpoch != current.epoch
                && report.standbyDurableLSN.map { durableLSN < $0 } == true
            if standbyHeldMore, let standbyDurable = report.standbyDurableLSN {
                primaryCameBackShort = (current.epoch, standbyDurable)
            }
            // (Unless it is the primary and its standby lost its disk: what only that disk held
            // is gone — acknowledged alone, under `--fsync everysec|no` — and the primary goes on.)
            let standbyDiskGone = current.primary == node && standbyLostItsDiskInEpoch == current.epoch
            if current.mode == .sync, durableLSN < report.commitLSN, !standbyDiskGone {
                return deny("\(node) offers LSN \(durableLSN), less than the \(report.commitLSN) the primary had acknowledged")
            }
            if standbyHeldMore, let standbyDurable = report.standbyDurableLSN {
                return deny("\(node) offers LSN \(durableLSN), less than its standby's \(standbyDurable): the standby should be promoted")
            }
        }
        if current.primary == node {
            // The primary restarted and asks for a new epoch rather than resuming its old one
            // (records it lost in a crash must not share an epoch and LSN with new ones),
            // once any lease this witness backed has run out; its standby's sync state is
            // unchanged.
            lastVoteGrant = (epoch, node)
            return adopt(WitnessRecord(
                epoch: epoch, primary: node, standby: current.standby, standbyInSync: current.standbyInSync,
                mode: current.mode, leaseMilliseconds: current.leaseMilliseconds, clusterID: current.clusterID))
        }
        let primaryLostItsDisk = primaryLostItsDiskInEpoch == current.epoch || holdsAllThatIsLeft(durableLSN, in: current.epoch)
        switch current.mode {
        case .sync where primaryLostItsDisk, .async where primaryLostItsDisk:
            break  // what the primary held is gone; the standby holds all that is left
        case .sync:
            guard current.standbyInSync else {
                return deny("\(node) is not recorded as in sync: promoting it could lose acknowledged writes (an operator can force it)")
            }
        case .async:
            guard let report = lastReport, report.epoch == current.epoch else {
                return deny("no report of \(node)'s lag from the primary of epoch \(current.epoch) since this witness started")
            }
            let lag = report.standbyLagBytes ?? Int64.max
            guard durableLSN >= report.lastWrittenLSN || lag <= maxLagBytes else {
                return deny("\(node) lagged \(lag) bytes at the primary's last report, more than the \(maxLagBytes) allowed")
            }
        }
        lastReport = nil
        lastVoteGrant = (epoch, node)
        return adopt(WitnessRecord(
            epoch: epoch, primary: node, standby: current.primary, standbyInSync: false, mode: current.mode,
            leaseMilliseconds: current.leaseMilliseconds, clusterID: current.clusterID))
    }

    /// The record's primary of `epoch` came back short, and a node offering `lsn` holds at
    /// least what its standby held: everything of the log that still exists.
    private func holdsAllThatIsLeft(_ lsn: LSN, in epoch: Epoch) -> Bool {
        guard let short = primaryCameBackShort, short.epoch == epoch else { return false }
        return lsn >= short.standbyDurable
    }

    // MARK: Replies

    private mutating func adopt(_ new: WitnessRecord) -> Response {
        record = new
        if let newer = newerPrimary, new.epoch >= newer.epoch { newerPrimary = nil }
        return Response(reply: .state(new), persist: new)
    }

    private func deny(_ reason: String) -> Response {
        Response(reply: .denied(reason))
    }

    private func unknown(_ node: String) -> Response {
        deny("\(node) is not one of this witness's nodes (\(nodes.joined(separator: ", ")))")
    }

    private func stale(or reason: String, epoch: Epoch) -> Response {
        if let record, record.epoch > epoch { return Response(reply: .staleEpoch(record.epoch, primary: record.primary)) }
        return deny(reason)
    }
}
