import Testing
@testable import UnderstudyCore

/// Issue 9's holes in the node's coordinator, each as a deterministic test: only a grant
/// promotes, FENCE only demotes and only from the peer of this cluster, a late grant never
/// overlaps a promise, the standby promises for the primary's lease when it is longer.
@Suite struct NodeCoordinatorSafetyTests {
    let me = "127.0.0.1:7001"
    let peer = "127.0.0.1:7002"
    let cluster = ClusterIdentity.make(7, 9)
    let settings = CoordinationSettings(mode: .async)
    let facts = NodeCoordinator.LogFacts(lastWrittenLSN: LSN(10), durableLSN: LSN(10))

    private func record(epoch: UInt64, primary: String) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: primary, standby: primary == me ? peer : me, standbyInSync: true,
                      mode: .async, leaseMilliseconds: 500, clusterID: cluster)
    }

    /// A standby of epoch 1 following `peer`, told so by the witness at time 0 (a member:
    /// its data directory holds the cluster identity).
    private func standby() -> NodeCoordinator {
        var node = NodeCoordinator(node: me, hint: nil, epoch: Epoch(1), settings: settings, nowMilliseconds: 0, clusterID: cluster)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: 1, primary: peer)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        precondition(node.role == .standby)
        return node
    }

    /// A primary of epoch 2 with a lease from time `now` (the standby echoed at `now`).
    private func primary(now: Int64 = 1_000) -> NodeCoordinator {
        var node = NodeCoordinator(node: me, hint: .primary, epoch: Epoch(1), settings: settings, nowMilliseconds: 0)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: 1, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        guard case .askWitness(let vote)? = node.tick(nowMilliseconds: now, facts: facts).first else { fatalError("no vote") }
        _ = node.witnessAnswered(vote, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: now, nowMilliseconds: now)
        _ = node.standbyEchoedHeartbeat(sentAtMilliseconds: now, epoch: Epoch(2), nowMilliseconds: now)
        precondition(node.role == .primary && node.hasLease(nowMilliseconds: now))
        return node
    }

    /// Finding C: an emptied node named primary of a later epoch (a vote that arrived after
    /// it crashed) does not take the identity, so it gets no vote with its empty log.
    @Test func emptiedNode_namedPrimaryOfALaterEpoch_doesNotLearnTheIdentity() {
        var node = NodeCoordinator(node: me, hint: nil, epoch: .initial, settings: settings, nowMilliseconds: 0)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: 3, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        #expect(node.clusterID == nil)
        var first = NodeCoordinator(node: me, hint: .primary, epoch: .initial, settings: settings, nowMilliseconds: 0)
        guard case .askWitness(let bootstrap)? = first.tick(nowMilliseconds: 0, facts: facts).first else { fatalError("no hello") }
        _ = first.witnessAnswered(bootstrap, reply: .state(record(epoch: 1, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        #expect(first.clusterID == cluster, "the cluster's first primary takes the identity the witness made")
    }

    /// Finding E of the simulator (`--stray-fence`): a stray FENCE naming the peer with an
    /// epoch never granted demotes the primary; restarted, the witness still names it
    /// primary of the older epoch. It must ask for the epoch above the one it heard of —
    /// before, it waited for ever and the cluster had no primary.
    @Test func restartedNode_namedPrimaryOfAnEpochBelowTheOneItKnows_asksAboveIt() {
        var node = NodeCoordinator(node: me, hint: nil, epoch: Epoch(3), settings: settings, nowMilliseconds: 0, clusterID: cluster)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        let later = settings.leaseMilliseconds + settings.driftMarginMilliseconds + 1
        guard case .askWitness(.vote(_, let asked, _, _, _, _))? = node.tick(nowMilliseconds: later, facts: facts).first else {
            Issue.record("no vote asked")
            return
        }
        #expect(asked == Epoch(4))
        var witness = Witness(nodes: [me, peer], record: record(epoch: 2, primary: me), nowMilliseconds: 0)
        let granted = witness.handle(.vote(node: me, epoch: asked, durableLSN: LSN(10), maxLagBytes: 0, clusterID: cluster),
                                     nowMilliseconds: 10_000)
        #expect(granted.persist?.epoch == Epoch(4) && granted.persist?.primary == me, "the witness grants above the next epoch too")
    }

    @Test func fence_withAnEpochNoClusterReaches_isRefused() {
        var node = primary()
        let far = Epoch(Epoch.highestPlausible.rawValue + 1)
        #expect(node.fenced(epoch: far, by: peer, clusterID: cluster, nowMilliseconds: 1_001) == .failure(.implausible(epoch: far)))
        #expect(node.role == .primary && node.epoch == Epoch(2))
        var witness = Witness(nodes: [me, peer], record: record(epoch: 2, primary: me), nowMilliseconds: 0)
        let refused = witness.handle(.vote(node: peer, epoch: Epoch(UInt64.max), durableLSN: LSN(10), maxLagBytes: 0, clusterID: cluster),
                                     nowMilliseconds: 10_000)
        #expect(refused.persist == nil)
    }

    @Test func fence_namingThisNodeItself_neverPromotesIt() {
        var node = standby()
        #expect(node.fenced(epoch: Epoch(3), by: me, clusterID: cluster, nowMilliseconds: 10) == .failure(.notThePeer))
        #expect(node.role == .standby)
        #expect(node.epoch == Epoch(1), "a refused FENCE changes nothing, not even the epoch")
    }

    @Test func fence_ofAStandby_isRefused_andItsEpochStays() {
        var node = standby()
        #expect(node.fenced(epoch: Epoch(99), by: peer, clusterID: cluster, nowMilliseconds: 10) == .failure(.notPrimary(epoch: Epoch(1))))
        #expect(node.epoch == Epoch(1))
    }

    @Test func fence_withoutTheClusterIdentity_isRefused() {
        var node = primary()
        #expect(node.fenced(epoch: Epoch(99), by: peer, clusterID: ClusterIdentity.make(1, 1), nowMilliseconds: 1_001)
                == .failure(.foreignCluster))
        #expect(node.role == .primary)
    }

    @Test func fence_fromThePeer_demotesAPrimaryOfAnOlderEpoch_whoseLeaseHasRunOut() {
        var node = primary()
        let lapsed: Int64 = 1_000 + settings.leaseMilliseconds
        #expect(node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: lapsed)
                == .success([.becomeStandby(epoch: Epoch(3), primary: peer)]))
        #expect(node.role == .standby)
    }

    @Test("A primary holding its lease refuses FENCE: no voter can have backed a newer epoch meanwhile, so the sender took its own without the witness")
    func fence_ofAPrimaryHoldingItsLease_isRefused() {
        var node = primary()
        #expect(node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: 1_001) == .failure(.holdsLease(epoch: Epoch(2))))
        #expect(node.role == .primary && node.epoch == Epoch(2) && node.hasLease(nowMilliseconds: 1_001))
    }

    @Test("Finding H: a primary made after the epoch a forced sender was forced from, which acknowledged writes in its epoch, refuses its FENCE, lease or not; one that acknowledged nothing there follows")
    func fence_fromAPrimaryForcedBeforeThisEpoch_isRefused() {
        var node = primary()
        let lapsed: Int64 = 1_000 + settings.leaseMilliseconds
        #expect(node.fenced(epoch: Epoch(65_537), by: peer, clusterID: cluster, forcedFrom: Epoch(1),
                            acknowledgedInThisEpoch: true, nowMilliseconds: lapsed)
                == .failure(.madeAfterTheForcedEpoch(epoch: Epoch(2), forcedFrom: Epoch(1))))
        #expect(node.role == .primary)
        #expect(node.fenced(epoch: Epoch(65_538), by: peer, clusterID: cluster, forcedFrom: Epoch(2), nowMilliseconds: lapsed)
                == .success([.becomeStandby(epoch: Epoch(65_538), primary: peer)]),
                "forced knowing this epoch: the operator's override stands")
        var idle = primary()
        #expect(idle.fenced(epoch: Epoch(65_537), by: peer, clusterID: cluster, forcedFrom: Epoch(1), nowMilliseconds: lapsed)
                == .success([.becomeStandby(epoch: Epoch(65_537), primary: peer)]), "nothing acknowledged in epoch 2: nothing lost")
    }

    @Test("Finding H: the witness's answer to a primary's own heartbeat that moves it above a forced epoch keeps it primary, in the new epoch, with the lease")
    func heartbeatAnswer_movingThisPrimaryAboveAForcedEpoch_keepsItPrimary() {
        var node = primary()
        let beat = WitnessHeartbeat(node: me, epoch: Epoch(2), mode: .async, leaseMilliseconds: 500, lastWrittenLSN: LSN(10),
                                    standbyDurableLSN: nil, standbyLagBytes: nil, commitLSN: LSN(10), clusterID: cluster)
        let actions = node.witnessAnswered(.heartbeat(beat), reply: .state(record(epoch: 65_538, primary: me)),
                                           sentAtMilliseconds: 1_100, nowMilliseconds: 1_101)
        #expect(actions == [.becomePrimary(epoch: Epoch(65_538), acknowledgeAlone: false), .leaseAcquired])
        #expect(node.role == .primary && node.epoch == Epoch(65_538) && node.hasLease(nowMilliseconds: 1_101))
        // A standby named primary in an answer to anything but its own vote is still no grant.
        var follower = standby()
        _ = follower.witnessAnswered(.heartbeat(beat), reply: .state(record(epoch: 65_538, primary: me)),
                                     sentAtMilliseconds: 10, nowMilliseconds: 10)
        #expect(follower.role == .standby)
    }

    @Test func observedEpoch_namingThisNode_makesAStandbyNoPrimary() {
        var node = standby()
        #expect(node.observed(epoch: Epoch(5), primary: me, nowMilliseconds: 10) == [])
        #expect(node.role == .standby)
    }

    @Test func witnessState_namingThisNodePrimary_withoutItsOwnVote_isNoGrant() {
        var node = standby()
        let status = node.witnessAnswered(.status, reply: .state(record(epoch: 4, primary: me)), sentAtMilliseconds: 10,
                                          nowMilliseconds: 10)
        #expect(status == [])
        #expect(node.role == .standby, "only the answer to its own vote or forced promotion for that epoch promotes")
    }

    @Test func forcedPromotion_cancelledWhileInFlight_makesNoPromise_untilItIsAnswered() {
        var node = standby()
        let forcing = node.forcePromotion()
        #expect(forcing)
        let promise = settings.promiseMilliseconds
        guard case .askWitness(let force)? = node.tick(nowMilliseconds: promise, facts: facts).first else {
            Issue.record("a forcing standby asks the witness once its promise has run out"); return
        }
        node.cancelForcePromotion()  // the operator's deadline passed while the request was out
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: promise + 10)
        #expect(!echoed, "a promise now could be broken by the grant still on its way")
        // The late grant promotes it — it made no promise meanwhile, so this is safe.
        let late = node.witnessAnswered(force, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: promise,
                                        nowMilliseconds: promise + 20)
        #expect(late == [.becomeStandby(epoch: Epoch(2), primary: nil)] || late.contains(.becomePrimary(epoch: Epoch(2), acknowledgeAlone: false)))
    }

    @Test func lateGrant_givesNoLease_whileAPromiseItMadeStillRuns() {
        var node = standby()
        // It promised the primary at 1,000 (until 1,600); its vote, asked earlier, is granted at 1,100.
        let vote = WitnessRequest.vote(node: me, epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 1 << 20)
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 1_000)
        #expect(echoed)
        _ = node.witnessAnswered(vote, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: 1_050,
                                 nowMilliseconds: 1_100)
        #expect(node.role == .primary)
        _ = node.standbyEchoedHeartbeat(sentAtMilliseconds: 1_100, epoch: Epoch(2), nowMilliseconds: 1_101)
        #expect(!node.hasLease(nowMilliseconds: 1_200), "the promise to the old primary runs until 1,600")
        _ = node.standbyEchoedHeartbeat(sentAtMilliseconds: 1_590, epoch: Epoch(2), nowMilliseconds: 1_595)
        #expect(node.hasLease(nowMilliseconds: 1_600))
    }

    @Test func standby_promisesForThePrimarysLease_whenItIsLonger() {
        var node = standby()
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), primaryLeaseMilliseconds: 2_000, nowMilliseconds: 1_000)
        #expect(echoed)
        // Its own lease is 500 ms (+100 drift): it must still not vote before 1,000 + 2,000 + 400.
        node.primaryRefusedConnection()
        #expect(node.tick(nowMilliseconds: 3_399, facts: facts) == [])
        guard case .askWitness(.vote)? = node.tick(nowMilliseconds: 3_400, facts: facts).first else {
            Issue.record("it votes once the longer promise has run out"); return
        }
    }

    @Test func forcedPromotionWithoutWitness_skipsAhead_andIntoTheEpochThePeerHolds_takesTheNextOne() {
        // Forced without the witness, it skips ahead (finding F), so the witness does not
        // grant that epoch to the old primary first; should the peer hold it all the same, it
        // takes the next one.
        var node = standby()
        _ = node.forcePromotion()
        let promise = settings.promiseMilliseconds
        guard case .askWitness(let force)? = node.tick(nowMilliseconds: promise, facts: facts).first else {
            Issue.record("a forcing standby asks the witness first"); return
        }
        _ = node.witnessUnreachable(force)
        let forced = Epoch(1 + NodeCoordinator.forcedAloneEpochStride)
        #expect(node.tick(nowMilliseconds: promise + 100, facts: facts) == [.becomePrimary(epoch: forced, acknowledgeAlone: false)])
        // Alone, it tells its peer its epoch; the peer answers that it is primary of that epoch itself.
        #expect(node.tick(nowMilliseconds: promise + 200, facts: facts).contains(.fencePeer(epoch: forced, clusterID: cluster, forcedFrom: Epoch(0))))
        let next = Epoch(forced.rawValue + 1)
        #expect(node.peerIsPrimary(ofEpoch: forced, nowMilliseconds: promise + 210)
                == [.becomePrimary(epoch: next, acknowledgeAlone: false)])
        #expect(node.tick(nowMilliseconds: promise + 300, facts: facts).contains(.fencePeer(epoch: next, clusterID: cluster, forcedFrom: Epoch(0))),
                "the new epoch goes to the peer at once")
    }

    @Test("Findings F and H: a witness that hears a primary of an epoch it never granted, while the primary it backs is alive, moves that primary above it; once that primary is silent, it adopts the forced one")
    func witness_hearingANewerForcedPrimary_movesItsLivePrimaryAbove_orAdoptsItOnceSilent() {
        var witness = Witness(nodes: [me, peer], record: record(epoch: 2, primary: peer), nowMilliseconds: 0)
        func beat(_ node: String, _ epoch: UInt64) -> WitnessRequest {
            .heartbeat(WitnessHeartbeat(node: node, epoch: Epoch(epoch), mode: .async, leaseMilliseconds: 500, lastWrittenLSN: LSN(10),
                                        standbyDurableLSN: nil, standbyLagBytes: nil, commitLSN: LSN(10), clusterID: cluster))
        }
        #expect(witness.handle(beat(peer, 2), nowMilliseconds: 1_000).reply == .state(record(epoch: 2, primary: peer)))
        let forced = witness.handle(beat(me, 9), nowMilliseconds: 1_100)
        #expect(forced.persist == nil, "the promise to the primary of epoch 2 holds")
        let moved = witness.handle(beat(peer, 2), nowMilliseconds: 1_200)
        #expect(moved.persist?.epoch == Epoch(10) && moved.persist?.primary == peer,
                "the primary it backs is granted the epoch above the forced one, in answer to its own heartbeat")
        #expect(witness.handle(beat(me, 9), nowMilliseconds: 1_300).reply == .staleEpoch(Epoch(10), primary: peer),
                "the forced primary is told to follow")

        // The primary it backs goes silent: once the promise has run out, the forced one is adopted.
        var silent = Witness(nodes: [me, peer], record: record(epoch: 2, primary: peer), nowMilliseconds: 0)
        _ = silent.handle(beat(peer, 2), nowMilliseconds: 1_000)
        #expect(silent.handle(beat(me, 9), nowMilliseconds: 1_100).persist == nil, "the promise to the primary of epoch 2 holds")
        let adopted = silent.handle(beat(me, 9), nowMilliseconds: 1_000 + 500 + 100 + 1)
        #expect(adopted.persist?.epoch == Epoch(9) && adopted.persist?.primary == me)
    }

    @Test("Finding H: a primary forced without the witness from an epoch below the witness's record is never adopted, however long the record's primary is silent")
    func witness_neverAdoptsAPrimaryForcedBeforeAnEpochItGrantedSince() {
        var witness = Witness(nodes: [me, peer], record: record(epoch: 3, primary: peer), nowMilliseconds: 0)
        let forced = heartbeat(of: me, epoch: 65_538, lastLSN: 291, forcedFrom: Epoch(2))
        for now in stride(from: Int64(10_000), through: 60_000, by: 10_000) {
            guard case .denied(let reason) = witness.handle(forced, nowMilliseconds: now).reply else {
                Issue.record("the forced primary was adopted at \(now) ms"); return
            }
            #expect(reason.contains("yields"))
        }
        #expect(witness.record?.epoch == Epoch(3) && witness.record?.primary == peer)
        // The record's primary comes back and heartbeats: it moves above the forced epoch.
        let back = heartbeat(of: peer, epoch: 3, lastLSN: 453)
        #expect(witness.handle(back, nowMilliseconds: 61_000).persist?.epoch == Epoch(65_539))
    }

    /// A primary's heartbeat to the witness (`forcedFrom`: forced without the witness, knowing that epoch).
    private func heartbeat(of node: String, epoch: UInt64, lastLSN: UInt64, forcedFrom: Epoch? = nil) -> WitnessRequest {
        .heartbeat(WitnessHeartbeat(node: node, epoch: Epoch(epoch), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(lastLSN),
                                    standbyDurableLSN: nil, standbyLagBytes: nil, commitLSN: LSN(lastLSN), clusterID: cluster,
                                    forcedFromEpoch: forcedFrom))
    }

    @Test("A forced node whose own later grant the witness recorded (its answer lost) is adopted once the promise has run out: it supersedes no other primary")
    func witness_adoptsAForcedEpochOfItsOwnRecordsPrimary() {
        var witness = Witness(nodes: [me, peer], record: record(epoch: 4, primary: me), nowMilliseconds: 0)
        let adopted = witness.handle(heartbeat(of: me, epoch: 65_538, lastLSN: 291, forcedFrom: Epoch(2)), nowMilliseconds: 10_000)
        #expect(adopted.persist?.epoch == Epoch(65_538) && adopted.persist?.primary == me)
    }

    @Test func heartbeat_carriesTheForcedFromEpoch_andParsesWithoutIt() throws {
        let beat = WitnessHeartbeat(node: me, epoch: Epoch(65_538), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(7),
                                    standbyDurableLSN: nil, standbyLagBytes: nil, commitLSN: LSN(7), clusterID: cluster,
                                    forcedFromEpoch: Epoch(2))
        let request = WitnessRequest.heartbeat(beat)
        #expect(try WitnessRequest(arguments: request.arguments) == request)
        var granted = beat
        granted.forcedFromEpoch = nil
        #expect(WitnessRequest.heartbeat(granted).arguments.count == request.arguments.count - 1, "a granted primary sends no such field")
        #expect(try WitnessRequest(arguments: WitnessRequest.heartbeat(granted).arguments) == .heartbeat(granted))
    }

    @Test func primaryAlone_fencesItsPeer_everyIntervalOfTheNodeLimits_andNotBetween() {
        var node = primary(now: 1_000)
        let interval = NodeLimits.standard.fenceNoticeIntervalHeartbeats * settings.heartbeatIntervalMilliseconds
        func fences(at now: Int64) -> Bool {
            node.tick(nowMilliseconds: now, facts: facts).contains { if case .fencePeer = $0 { return true } else { return false } }
        }
        #expect(fences(at: 1_000))
        #expect(!fences(at: 1_000 + interval - 1))
        #expect(fences(at: 1_000 + interval))
    }

    @Test func witnessHeartbeats_stopAtTheLimitOfUnansweredOnes() {
        var node = primary(now: 1_000)
        let limit = NodeLimits.standard.maxWitnessHeartbeatsInFlight
        var sent = 0
        for beat in 0...limit {
            let now = 1_000 + Int64(beat) * settings.heartbeatIntervalMilliseconds
            sent += node.tick(nowMilliseconds: now, facts: facts).filter { if case .askWitness(.heartbeat) = $0 { true } else { false } }.count
        }
        #expect(sent == limit, "limit + 1 intervals without an answer send only limit heartbeats")
    }

    @Test func primaryTheWitnessMade_neverTakesAnotherEpochOnAPeersWord() {
        var node = primary()
        #expect(node.peerIsPrimary(ofEpoch: Epoch(2), nowMilliseconds: 5_000) == [])
        #expect(node.epoch == Epoch(2))
    }

    @Test func peerOfAnotherCluster_isRefused_onlyWhenBothIdentitiesAreKnown() {
        let node = standby()
        #expect(node.identityRefusal(ofPeerClaiming: ClusterIdentity.make(1, 2)) != nil)
        #expect(node.identityRefusal(ofPeerClaiming: cluster) == nil)
        #expect(node.identityRefusal(ofPeerClaiming: nil) == nil, "a new node has no identity yet")
    }
}
