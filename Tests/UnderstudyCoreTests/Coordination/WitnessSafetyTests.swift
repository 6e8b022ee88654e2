import Testing
@testable import UnderstudyCore

/// Issue 9's holes in the witness, each as a deterministic test.
@Suite struct WitnessSafetyTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]
    let cluster = ClusterIdentity.make(3, 4)

    private func record(epoch: UInt64 = 1, inSync: Bool = true, mode: ReplicationMode = .sync) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: nodes[0], standby: nodes[1], standbyInSync: inSync, mode: mode,
                      leaseMilliseconds: 500, clusterID: cluster)
    }

    private func beat(epoch: UInt64 = 1, node: Int = 0, mode: ReplicationMode = .sync, written: UInt64 = 100,
                      standbyDurable: UInt64? = 100, lag: Int64? = 0, commit: UInt64 = 100) -> WitnessRequest {
        .heartbeat(WitnessHeartbeat(node: nodes[node], epoch: Epoch(epoch), mode: mode, leaseMilliseconds: 500,
                                    lastWrittenLSN: LSN(written), standbyDurableLSN: standbyDurable.map { LSN($0) },
                                    standbyLagBytes: lag, commitLSN: LSN(commit), clusterID: cluster))
    }

    private func isDenied(_ response: Witness.Response) -> Bool {
        if case .denied = response.reply { return response.persist == nil }
        return false
    }

    @Test func syncVote_fromAStandbyBelowTheAcknowledgedLSN_isRefused_thoughRecordedInSync() {
        // Issue 9, item 2: a re-seeded standby, still recorded in sync, offers less than was acknowledged.
        var witness = Witness(nodes: nodes, record: record(), nowMilliseconds: 0)
        _ = witness.handle(beat(standbyDurable: 68, commit: 399), nowMilliseconds: 0)
        #expect(isDenied(witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(68), maxLagBytes: 0, clusterID: cluster),
                                        nowMilliseconds: 2_000)))
        let granted = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(399), maxLagBytes: 0, clusterID: cluster),
                                     nowMilliseconds: 2_000)
        #expect(granted.persist?.primary == nodes[1])
    }

    /// The simulator's finding C (`--disk-loss`, combined flags, sync seed 500662): the
    /// primary of epoch 3 (voted in after it crashed) comes back with an emptied directory.
    /// Its standby, not recorded in sync, may then be promoted: what the primary held is gone.
    @Test func primaryThatLostItsDisk_letsTheStandbyBePromoted_thoughNotRecordedInSync() {
        var witness = Witness(nodes: nodes, record: record(epoch: 3, inSync: false), nowMilliseconds: -10_000)
        let vote = WitnessRequest.vote(node: nodes[1], epoch: Epoch(4), durableLSN: LSN(100), maxLagBytes: 0, clusterID: cluster)
        #expect(isDenied(witness.handle(vote, nowMilliseconds: 0)), "not in sync, and the primary may hold what it lacks")
        _ = witness.handle(.hello(node: nodes[0], hint: nil, epoch: Epoch(1), lastLSN: .zero, clusterID: nil), nowMilliseconds: 10)
        #expect(witness.handle(vote, nowMilliseconds: 20).persist?.primary == nodes[1])
    }

    /// The simulator's `--fsync everysec|no` (async seeds 830010, 830063; sync 840026): the
    /// primary's machine crashed and took what it had not synced; it comes back with less
    /// than its standby held. The standby, lagging or not in sync, is then the one to promote
    /// — it holds all of the log that still exists — where before neither node could go on.
    @Test(arguments: [ReplicationMode.sync, .async])
    func primaryBackWithLessThanItsStandby_letsTheStandbyBePromoted(mode: ReplicationMode) {
        var witness = Witness(nodes: nodes, record: record(epoch: 2, inSync: false, mode: mode), nowMilliseconds: -10_000)
        _ = witness.handle(beat(epoch: 2, mode: mode, written: 413, standbyDurable: 351, lag: 3_000, commit: 351), nowMilliseconds: 0)
        let standbyVote = WitnessRequest.vote(node: nodes[1], epoch: Epoch(3), durableLSN: LSN(351), maxLagBytes: 48, clusterID: cluster)
        #expect(isDenied(witness.handle(standbyVote, nowMilliseconds: 2_000)), "not in sync / lagging: the primary may come back with more")
        let primaryVote = WitnessRequest.vote(node: nodes[0], epoch: Epoch(3), durableLSN: LSN(230), maxLagBytes: 48, clusterID: cluster)
        #expect(isDenied(witness.handle(primaryVote, nowMilliseconds: 2_100)), "it came back with less than its standby held")
        #expect(witness.handle(standbyVote, nowMilliseconds: 2_200).persist?.primary == nodes[1])
    }

    /// ... and if the standby lost its disk meanwhile, what only it held is gone: the primary
    /// resumes with what it has (async seed 830067 with `--disk-loss --fsync everysec`).
    @Test func primaryBackWithLess_resumes_whenItsStandbyLostItsDisk() {
        var witness = Witness(nodes: nodes, record: record(epoch: 2, inSync: false, mode: .async), nowMilliseconds: -10_000)
        _ = witness.handle(beat(epoch: 2, mode: .async, written: 146, standbyDurable: 146, lag: 0, commit: 51), nowMilliseconds: 0)
        let primaryVote = WitnessRequest.vote(node: nodes[0], epoch: Epoch(3), durableLSN: LSN(51), maxLagBytes: 48, clusterID: cluster)
        #expect(isDenied(witness.handle(primaryVote, nowMilliseconds: 2_000)))
        _ = witness.handle(.hello(node: nodes[1], hint: nil, epoch: Epoch(1), lastLSN: .zero, clusterID: nil), nowMilliseconds: 2_050)
        #expect(witness.handle(primaryVote, nowMilliseconds: 2_100).persist?.primary == nodes[0])

        // Sync mode: the commit LSN it reported rested on the standby's disk, now gone.
        var sync = Witness(nodes: nodes, record: record(epoch: 3, inSync: false, mode: .sync), nowMilliseconds: -10_000)
        _ = sync.handle(beat(epoch: 3, written: 242, standbyDurable: 242, lag: 0, commit: 242), nowMilliseconds: 0)
        let resume = WitnessRequest.vote(node: nodes[0], epoch: Epoch(4), durableLSN: LSN(116), maxLagBytes: 0, clusterID: cluster)
        #expect(isDenied(sync.handle(resume, nowMilliseconds: 2_000)))
        _ = sync.handle(.hello(node: nodes[1], hint: nil, epoch: Epoch(1), lastLSN: .zero, clusterID: nil), nowMilliseconds: 2_050)
        #expect(sync.handle(resume, nowMilliseconds: 2_100).persist?.primary == nodes[0])
    }

    @Test func bootstrapPrimaryWithoutTheIdentity_isNoDiskLoss() {
        var witness = Witness(nodes: nodes, record: record(epoch: 1, inSync: false), nowMilliseconds: -10_000)
        _ = witness.handle(.hello(node: nodes[0], hint: nil, epoch: Epoch(1), lastLSN: .zero, clusterID: nil), nowMilliseconds: 10)
        let vote = WitnessRequest.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(100), maxLagBytes: 0, clusterID: cluster)
        #expect(isDenied(witness.handle(vote, nowMilliseconds: 20)), "a new cluster's first primary has no identity yet")
    }

    @Test func heartbeat_ofAnEpochNeverGranted_waitsForThePromise() {
        // Issue 9, item 5: an epoch this witness never granted becomes no lease while it backs another.
        var witness = Witness(nodes: nodes, record: record(epoch: 2), nowMilliseconds: -10_000)
        _ = witness.handle(beat(epoch: 2), nowMilliseconds: 0)
        #expect(isDenied(witness.handle(beat(epoch: 3, node: 1), nowMilliseconds: 100)))
        #expect(witness.record?.epoch == Epoch(2))
        let adopted = witness.handle(beat(epoch: 3, node: 1), nowMilliseconds: 600)
        #expect(adopted.persist?.epoch == Epoch(3))
        #expect(adopted.persist?.primary == nodes[1])
    }

    @Test func restartedPrimary_withLessThanItsStandby_isRefusedTheNextEpoch() {
        // Issue 9, item 8: an empty data directory must not become the new epoch's whole log.
        var witness = Witness(nodes: nodes, record: record(mode: .async), nowMilliseconds: 0)
        _ = witness.handle(beat(mode: .async, standbyDurable: 90), nowMilliseconds: 0)
        #expect(isDenied(witness.handle(.vote(node: nodes[0], epoch: Epoch(2), durableLSN: .zero, maxLagBytes: 0, clusterID: cluster),
                                        nowMilliseconds: 5_000)))
    }

    @Test func witnessThatLostItsRecord_namesNoPrimary_beforeItHearsBothNodes_andALeaseHasRunOut() {
        // Issue 9, item 10: a witness restarted on an empty directory meets a running primary.
        var witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 1_000, newClusterID: ClusterIdentity.make(5, 5))
        #expect(isDenied(witness.handle(beat(epoch: 4), nowMilliseconds: 2_000)), "the primary that heartbeats first may be a stale one")
        let standbyHello = WitnessRequest.hello(node: nodes[1], hint: nil, epoch: Epoch(4), lastLSN: LSN(90), clusterID: cluster)
        #expect(isDenied(witness.handle(standbyHello, nowMilliseconds: 1_100)), "any lease backed before may still run")
        let adopted = witness.handle(beat(epoch: 4), nowMilliseconds: 2_100)
        #expect(adopted.persist?.epoch == Epoch(4), "the primary of the highest epoch keeps its epoch")
        #expect(adopted.persist?.primary == nodes[0])
        #expect(adopted.persist?.standbyInSync == false, "nothing is known of the standby")
        #expect(adopted.persist?.clusterID == cluster, "the cluster keeps its identity")
    }

    @Test func witnessThatLostItsRecord_hearingAStalePrimary_startsAboveEveryEpochEitherKnows() {
        var witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 0, newClusterID: ClusterIdentity.make(5, 5))
        // The old primary of epoch 6 heartbeats; the other node knows epoch 7 and asks for 8.
        _ = witness.handle(beat(epoch: 6), nowMilliseconds: 1_000)
        let named = witness.handle(.vote(node: nodes[1], epoch: Epoch(8), durableLSN: LSN(9), maxLagBytes: 0, clusterID: cluster),
                                   nowMilliseconds: 1_000)
        #expect(named.persist?.epoch == Epoch(8), "one above every epoch either node knows")
        #expect(named.persist?.primary == nodes[1])
        #expect(named.persist?.clusterID == cluster)
    }

    @Test func witnessThatLostItsRecord_neverNamesANodeWithoutTheIdentity() {
        var witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 0, newClusterID: ClusterIdentity.make(5, 5))
        _ = witness.handle(.hello(node: nodes[1], hint: nil, epoch: Epoch(9), lastLSN: LSN(500)), nowMilliseconds: 1_000)
        let hello = witness.handle(.hello(node: nodes[0], hint: nil, epoch: Epoch(3), lastLSN: LSN(10), clusterID: cluster),
                                   nowMilliseconds: 1_000)
        #expect(hello.persist == nil, "a record only on the chosen node's own heartbeat or vote")
        #expect(hello.reply == .state(WitnessRecord(epoch: Epoch(9), primary: nodes[0], standby: nodes[1], standbyInSync: false,
                                                    mode: .sync, leaseMilliseconds: 500, clusterID: cluster)),
                "the chosen node's HELLO tells it to ask for the next epoch")
        #expect(isDenied(witness.handle(.vote(node: nodes[1], epoch: Epoch(10), durableLSN: LSN(500), maxLagBytes: 0),
                                        nowMilliseconds: 1_000)), "an emptied node holds nothing of the cluster")
        let behind = witness.handle(.vote(node: nodes[0], epoch: Epoch(4), durableLSN: LSN(10), maxLagBytes: 0, clusterID: cluster),
                                    nowMilliseconds: 1_000)
        #expect(behind.reply == .staleEpoch(Epoch(9), primary: nil), "it learns the epoch to ask above")
        let granted = witness.handle(.vote(node: nodes[0], epoch: Epoch(10), durableLSN: LSN(10), maxLagBytes: 0, clusterID: cluster),
                                     nowMilliseconds: 1_000)
        #expect(granted.persist?.primary == nodes[0])
    }

    @Test("Finding D: a witness that lost its record ranks the logs by their last record's epoch, not by the epoch each node has heard of")
    func witnessThatLostItsRecord_ranksByTheLastRecordsEpoch() {
        // The primary of epoch 3 acknowledged alone up to LSN 130 and restarted; the standby
        // holds records of epoch 3 up to LSN 100 but heard of epoch 4 from the witness,
        // which then lost its disk before the primary learned of it.
        var witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 0)
        let standby = witness.handle(.hello(node: nodes[1], hint: nil, epoch: Epoch(4), lastLSN: LSN(100), clusterID: cluster,
                                            lastRecordEpoch: Epoch(3)), nowMilliseconds: 1_000)
        #expect(standby.persist == nil)
        #expect(isDenied(witness.handle(.vote(node: nodes[1], epoch: Epoch(5), durableLSN: LSN(100), maxLagBytes: 0,
                                              clusterID: cluster, durableRecordEpoch: Epoch(3)), nowMilliseconds: 1_000)),
                "the node with less of the log gets no vote, though it knows the higher epoch")
        let behind = witness.handle(.vote(node: nodes[0], epoch: Epoch(4), durableLSN: LSN(130), maxLagBytes: 0, clusterID: cluster,
                                          durableRecordEpoch: Epoch(3)), nowMilliseconds: 1_000)
        #expect(behind.reply == .staleEpoch(Epoch(4), primary: nil), "it learns the epoch to ask above")
        let granted = witness.handle(.vote(node: nodes[0], epoch: Epoch(5), durableLSN: LSN(130), maxLagBytes: 0, clusterID: cluster,
                                           durableRecordEpoch: Epoch(3)), nowMilliseconds: 1_000)
        #expect(granted.persist?.primary == nodes[0])
        #expect(granted.persist?.epoch == Epoch(5), "above every epoch either node knows")
    }

    @Test("HELLO and VOTE carry the record epoch on the wire; a request without it (an older node) still parses")
    func recordEpoch_roundTripsAndIsOptional() throws {
        let hello = WitnessRequest.hello(node: nodes[0], hint: nil, epoch: Epoch(4), lastLSN: LSN(9), clusterID: cluster,
                                         lastRecordEpoch: Epoch(3))
        let vote = WitnessRequest.vote(node: nodes[0], epoch: Epoch(5), durableLSN: LSN(9), maxLagBytes: 7, clusterID: cluster,
                                       durableRecordEpoch: Epoch(2))
        #expect(try WitnessRequest(arguments: hello.arguments) == hello)
        #expect(try WitnessRequest(arguments: vote.arguments) == vote)
        let older = try WitnessRequest(arguments: Array(hello.arguments.dropLast()))
        #expect(older == .hello(node: nodes[0], hint: nil, epoch: Epoch(4), lastLSN: LSN(9), clusterID: cluster))
        #expect(throws: ReplicationError.self) { try WitnessRequest(arguments: hello.arguments + [Array("1".utf8)]) }
    }

    @Test func newCluster_getsTheWitnesssNewIdentity_andAForeignNodeIsRefused() {
        let fresh = ClusterIdentity.make(5, 5)
        var witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 0, newClusterID: fresh)
        let chosen = witness.handle(.hello(node: nodes[0], hint: .primary, epoch: .initial, lastLSN: .zero), nowMilliseconds: 0)
        #expect(chosen.persist?.clusterID == fresh)
        #expect(isDenied(witness.handle(.hello(node: nodes[1], hint: nil, epoch: .initial, lastLSN: .zero, clusterID: cluster),
                                        nowMilliseconds: 0)))
    }

    @Test func voteForAnEpochRecordedByAHandover_isConfirmedOnlyWithEveryHandedOverRecord() {
        // Issue 9, item 11: a switchover whose HANDOVER reply was lost.
        var witness = Witness(nodes: nodes, record: record(mode: .async), nowMilliseconds: 0)
        _ = witness.handle(.handover(node: nodes[0], epoch: Epoch(1), to: nodes[1], leaving: false, lastLSN: LSN(50)), nowMilliseconds: 0)
        #expect(isDenied(witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(49), maxLagBytes: 1 << 20, clusterID: cluster),
                                        nowMilliseconds: 10)))
        let confirmed = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(50), maxLagBytes: 0, clusterID: cluster),
                                       nowMilliseconds: 10)
        #expect(confirmed.reply == .state(witness.record!))
    }

    @Test func record_withAndWithoutIdentity_roundTripsThroughItsText() throws {
        #expect(try WitnessRecord(text: record().text) == record())
        let legacy = try WitnessRecord(text: "3 127.0.0.1:7001 127.0.0.1:7002 1 sync 500")
        #expect(legacy.clusterID == nil)
        #expect(throws: ReplicationError.self) { try WitnessRecord(text: "3 a b 1 sync 500 nothex") }
    }
}

/// The cluster identity as membership: a node whose data directory was emptied has none
/// until it has streamed from its primary, and gets no vote meanwhile.
@Suite struct WitnessIdentityTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]
    let cluster = ClusterIdentity.make(3, 4)

    @Test func vote_fromANodeWithoutTheIdentity_isRefused_thoughRecordedInSync() {
        let record = WitnessRecord(epoch: Epoch(2), primary: nodes[0], standby: nodes[1], standbyInSync: true, mode: .sync,
                                   leaseMilliseconds: 500, clusterID: cluster)
        var witness = Witness(nodes: nodes, record: record, nowMilliseconds: -10_000)
        let emptied = witness.handle(.vote(node: nodes[1], epoch: Epoch(3), durableLSN: .zero, maxLagBytes: 0), nowMilliseconds: 0)
        guard case .denied = emptied.reply else { Issue.record("expected a denial, got \(emptied.reply)"); return }
        let member = witness.handle(.vote(node: nodes[1], epoch: Epoch(3), durableLSN: LSN(9), maxLagBytes: 0, clusterID: cluster),
                                    nowMilliseconds: 0)
        #expect(member.persist?.primary == nodes[1])
    }

    @Test func standby_learnsTheIdentityFromItsPrimary_notFromTheWitness() {
        let me = nodes[1]
        let record = WitnessRecord(epoch: Epoch(2), primary: nodes[0], standby: me, standbyInSync: true, mode: .sync,
                                   leaseMilliseconds: 500, clusterID: cluster)
        var node = NodeCoordinator(node: me, hint: nil, epoch: .initial, settings: CoordinationSettings(mode: .sync), nowMilliseconds: 0)
        let facts = NodeCoordinator.LogFacts(lastWrittenLSN: .zero, durableLSN: .zero)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { Issue.record("no hello"); return }
        _ = node.witnessAnswered(hello, reply: .state(record), sentAtMilliseconds: 0, nowMilliseconds: 0)
        #expect(node.role == .standby)
        #expect(node.clusterID == nil, "an emptied node is no member until it streams")
        #expect(node.primaryStreams(clusterID: ClusterIdentity.make(9, 9)) == nil, "it learns whatever its primary says")
        #expect(node.clusterID == ClusterIdentity.make(9, 9))
        #expect(node.primaryStreams(clusterID: cluster) != nil, "and refuses a primary of another cluster from then on")
    }

    @Test func rewind_onlyForAPrimaryOfThisCluster_ofANewerEpoch() throws {
        let me = nodes[1]
        var node = NodeCoordinator(node: me, hint: nil, epoch: .initial, settings: CoordinationSettings(mode: .async),
                                   nowMilliseconds: 0, clusterID: cluster)
        _ = node.primaryStreams(clusterID: cluster)
        let mine = try EpochHistory(text: "1:1,2:5")
        let theirs = try EpochHistory(text: "1:1,3:5")
        #expect(node.rewindDecision(primaryHistory: theirs, primaryClusterID: cluster, history: mine, lastWrittenLSN: LSN(9))
                == .cut(forkPoint: LSN(4)))
        guard case .keep = node.rewindDecision(primaryHistory: theirs, primaryClusterID: nil, history: mine, lastWrittenLSN: LSN(9)) else {
            Issue.record("a DIVERGED without the identity cuts nothing"); return
        }
        guard case .keep = node.rewindDecision(primaryHistory: mine, primaryClusterID: cluster, history: theirs, lastWrittenLSN: LSN(9)) else {
            Issue.record("an older primary cuts nothing"); return
        }
    }
}
