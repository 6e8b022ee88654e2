import Testing
@testable import UnderstudyCore

/// The node's protocol as one value: the order of what it asks the shell to do (persist
/// before send, acknowledge only under a lease), the role it moves between, and the rules
/// that lived in the shell before (link backoff, switchover's wait, stale links).
@Suite struct DataNodeTests {
    let me = "127.0.0.1:7001"
    let peer = "127.0.0.1:7002"
    let cluster = ClusterIdentity.make(7, 9)
    let settings = CoordinationSettings(mode: .async)

    private func record(epoch: UInt64, primary: String) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: primary, standby: primary == me ? peer : me, standbyInSync: true,
                      mode: .async, leaseMilliseconds: 500, clusterID: cluster)
    }

    private func configuration(witness: Bool, role: ReplicationRole = .primary, mutation: DataNode.Mutation? = nil) -> DataNode.Configuration {
        DataNode.Configuration(pair: .init(
            peer: peer, mode: .async, role: role, hint: role, coordination: witness ? settings : nil,
            maxWaitingRecords: 100, syncTimeoutMilliseconds: 1_000, windowBytes: 1 << 20), mutation: mutation)
    }

    private func request(in actions: [NodeAction]) -> WitnessRequest? {
        for case .askWitness(let request) in actions { return request }
        return nil
    }

    /// A node with 10 records, named primary of epoch 1 by the witness at 0 (a restart), then
    /// granted epoch 2 at 1 000 for its own vote. Returns the node and the grant's actions.
    private func promoted(mutation: DataNode.Mutation? = nil) -> (DataNode, [NodeAction]) {
        var node = DataNode(configuration: configuration(witness: true, mutation: mutation), history: EpochHistory(),
                            lastLSN: LSN(10), lastRecordChecksum: 7)
        node.started(node: me, clusterID: nil, nowMilliseconds: 0)
        guard let hello = request(in: node.tick(nowMilliseconds: 0)) else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: 1, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        guard let vote = request(in: node.tick(nowMilliseconds: 1_000)) else { fatalError("no vote") }
        let actions = node.witnessAnswered(vote, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: 1_000,
                                           nowMilliseconds: 1_000)
        return (node, actions)
    }

    /// Appends and writes one record at 11 and makes it locally durable.
    private func write(_ node: inout DataNode, now: Int64) -> [NodeAction] {
        let lsn = node.log.appended.next
        node.appended(upTo: lsn, checksum: 1)
        return node.written(upTo: lsn, bytes: 100, nowMilliseconds: now) + node.locallyDurable(upTo: lsn, nowMilliseconds: now)
    }

    private func releases(_ actions: [NodeAction]) -> [LSN] {
        actions.compactMap { if case .release(let lsn) = $0 { return lsn } else { return nil } }
    }

    @Test func promotion_syncsTheLogAndPersistsTheEpoch_beforeItSaysItIsPrimary() {
        let (node, actions) = promoted()
        let sync = actions.firstIndex { if case .syncLog = $0 { return true } else { return false } }
        let persist = actions.firstIndex { if case .persistHistory(let history) = $0 { return history.currentEpoch == Epoch(2) } else { return false } }
        let became = actions.firstIndex { $0 == .becamePrimary(epoch: Epoch(2), acknowledgesAlone: false, wasStandby: false) }
        #expect(sync != nil && persist != nil && became != nil)
        #expect(sync! < persist! && persist! < became!, "persist before acting: \(actions)")
        #expect(node.primary?.replication.epoch == Epoch(2))
        #expect(node.history.epoch(at: LSN(11)) == Epoch(2), "the new epoch begins after the log's end")
        #expect(node.persistedClusterID == cluster, "the identity learned from the witness is persisted")
    }

    /// Finding B of the simulator (`--disk-loss`, async seeds 2, 138): a primary that wrote
    /// nothing in its epoch keeps no history entry for it; on restart it must still know it.
    @Test func theHighestEpoch_isPersistedWhenItRises_andSurvivesATrimmedHistory() {
        let (node, actions) = promoted()
        #expect(actions.contains(.persistKnownEpoch(Epoch(2))))
        #expect(node.persistedKnownEpoch == Epoch(2))
        var restarted = DataNode(configuration: configuration(witness: true), history: EpochHistory(), lastLSN: LSN(10),
                                 lastRecordChecksum: 7)
        restarted.started(node: me, clusterID: cluster, knownEpoch: Epoch(2), nowMilliseconds: 0)
        #expect(restarted.epoch == Epoch(1), "the trimmed history ends in epoch 1")
        #expect(restarted.coordinator?.epoch == Epoch(2), "but the node reports the epoch it knew")
    }

    @Test("--fsync everysec|no: a sync-mode primary waiting for its standby counts a write only once synced (so a machine crash never takes what it acknowledged with the standby); alone, or async, once written")
    func syncsEveryWrite_onlyWhereAnAcknowledgementReliesOnMoreThanThisDisk() {
        func pair(_ mode: ReplicationMode, role: ReplicationRole) -> DataNode {
            DataNode(configuration: DataNode.Configuration(pair: .init(
                peer: peer, mode: mode, role: role, hint: role, coordination: nil,
                maxWaitingRecords: 100, syncTimeoutMilliseconds: 1_000, windowBytes: 1 << 20)),
                history: EpochHistory(), lastLSN: LSN(10), lastRecordChecksum: 7)
        }
        #expect(pair(.sync, role: .primary).syncsEveryWrite)
        #expect(!pair(.async, role: .primary).syncsEveryWrite)
        #expect(pair(.async, role: .standby).syncsEveryWrite && pair(.sync, role: .standby).syncsEveryWrite)
        #expect(!DataNode(configuration: DataNode.Configuration(pair: nil), history: EpochHistory(), lastLSN: .zero,
                          lastRecordChecksum: nil).syncsEveryWrite, "a standalone node follows --fsync")
    }

    @Test("The commit LSN a primary reports to the witness is only what is on a disk: one written but unsynced under --fsync everysec may be taken by a crash")
    func heartbeat_reportsAsCommittedOnlyWhatIsOnADisk() {
        var (node, _) = promoted()
        attached(&node, lastLSN: LSN(10))
        _ = node.standbyEchoed(sentAtMilliseconds: 1_001, epoch: Epoch(2), link: 1, nowMilliseconds: 1_001)
        // Written and counted durable (everysec), acknowledged, never synced.
        let lsn = node.log.appended.next
        node.appended(upTo: lsn, checksum: 1)
        let released = releases(node.written(upTo: lsn, bytes: 100, nowMilliseconds: 1_010) + node.locallyDurable(upTo: lsn, nowMilliseconds: 1_010))
        #expect(released == [lsn], "async: acknowledged once written")
        var reported: LSN?
        for case .askWitness(.heartbeat(let beat)) in node.tick(nowMilliseconds: 1_100) { reported = beat.commitLSN }
        #expect(reported == LSN(10), "not the unsynced LSN \(lsn)")
        _ = node.synced(upTo: lsn, nowMilliseconds: 1_150)
        for case .askWitness(.heartbeat(let beat)) in node.tick(nowMilliseconds: 1_250) { reported = beat.commitLSN }
        #expect(reported == lsn)
    }

    @Test func primaryWithoutItsLease_holdsDurableReplies_untilTheStandbyEchoes() {
        var (node, _) = promoted()
        #expect(!node.mayAcknowledge(nowMilliseconds: 1_001))
        #expect(node.refusal(isWrite: true, nowMilliseconds: 1_001) == .leaseExpired(epoch: Epoch(2)))
        // The write ran before the lease was checked (its reply is held): durable, not acknowledged.
        let held = write(&node, now: 1_001)
        #expect(releases(held).allSatisfy { $0 <= LSN(10) }, "nothing past the gate without a lease: \(held)")
        let renewed = node.standbyEchoed(sentAtMilliseconds: 1_001, epoch: Epoch(2), link: 0, nowMilliseconds: 1_002)
        #expect(releases(renewed) == [LSN(11)], "the lease's return releases what durability allowed: \(renewed)")
        #expect(node.mayExpireKeys(nowMilliseconds: 1_002))
    }

    @Test func stepDown_failsWhatWasHeld_andNeverReleasesIt() {
        var (node, _) = promoted()
        _ = write(&node, now: 1_001)
        let acknowledged = node.gate.acknowledgedLSN
        guard case .success(let actions) = node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: 1_002) else {
            Issue.record("the peer's FENCE was refused")
            return
        }
        #expect(releases(actions).allSatisfy { $0 <= acknowledged }, "\(actions)")
        #expect(actions.contains { if case .fail(let after, _, let message) = $0 {
            return after == acknowledged && message.hasPrefix(UncertainOutcome.prefix)
        } else { return false } })
        #expect(actions.contains(.becameStandby(epoch: Epoch(3), primary: peer, wasPrimary: true)))
        #expect(node.standby != nil)
        #expect(node.refusal(isWrite: true, nowMilliseconds: 1_003) == .standby(knownEpoch: Epoch(3)))
    }

    @Test func releasePastTheGate_mutation_releasesWhatTheGateHeld() {
        var (node, _) = promoted(mutation: .releasePastTheGate)
        _ = write(&node, now: 1_001)
        // The primary's machine had committed LSN 11 (local durability, async) without a lease.
        guard case .success(let actions) = node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: 1_002) else {
            Issue.record("the peer's FENCE was refused")
            return
        }
        #expect(releases(actions).contains(LSN(11)), "the mutation breaks the gate, so the simulator can catch it")
    }

    /// A standby with an empty log, told by the witness that `peer` is primary of `epoch`.
    private func standby(clusterID: String?, witnessEpoch epoch: UInt64 = 1) -> DataNode {
        var node = DataNode(configuration: configuration(witness: true, role: .standby), history: EpochHistory(),
                            lastLSN: .zero, lastRecordChecksum: nil)
        node.started(node: me, clusterID: clusterID, nowMilliseconds: 0)
        guard let hello = request(in: node.tick(nowMilliseconds: 0)) else { fatalError("no hello") }
        _ = node.witnessAnswered(hello, reply: .state(record(epoch: epoch, primary: peer)), sentAtMilliseconds: 0, nowMilliseconds: 0)
        return node
    }

    @Test("A standby promoted by the witness says once when its first write since the promotion is acknowledged (INFO's promotion timeline), and not for the log it came with")
    func promotedStandby_reportsItsFirstAcknowledgedWrite_once() {
        var node = standby(clusterID: cluster)
        var now: Int64 = 0
        var granted = false
        for _ in 0..<100 where !granted {  // silence: the standby asks for a vote, bounded
            now += 100
            guard let vote = request(in: node.tick(nowMilliseconds: now)), case .vote(_, let epoch, _, _, _, _) = vote else { continue }
            let actions = node.witnessAnswered(vote, reply: .state(record(epoch: epoch.rawValue, primary: me)), sentAtMilliseconds: now,
                                               nowMilliseconds: now)
            granted = actions.contains { if case .becamePrimary(_, _, true) = $0 { true } else { false } }
            #expect(!actions.contains(.firstWriteAcknowledged), "the log it came with is no new write")
        }
        #expect(granted, "the standby was never promoted")
        now += 1
        guard let beat = request(in: node.tick(nowMilliseconds: now)) else { Issue.record("no heartbeat"); return }
        _ = node.witnessAnswered(beat, reply: .state(record(epoch: node.epoch.rawValue, primary: me)), sentAtMilliseconds: now, nowMilliseconds: now)
        #expect(write(&node, now: now + 1).contains(.firstWriteAcknowledged))
        #expect(!write(&node, now: now + 2).contains(.firstWriteAcknowledged), "once")
    }

    @Test func fence_neverPromotesAStandby() {
        var node = standby(clusterID: cluster)
        #expect(node.standby != nil)
        #expect(node.fenced(epoch: Epoch(3), by: me, clusterID: cluster, nowMilliseconds: 10) == .failure(.notThePeer))
        #expect(node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: 10) == .failure(.notPrimary(epoch: Epoch(1))))
        #expect(node.primary == nil)
    }

    @Test("Finding G: PROMOTE FORCE on a standby without the cluster identity (an emptied data directory) is refused; with it, accepted")
    func forcePromotion_ofANodeWithoutTheIdentity_isRefused() {
        var emptied = standby(clusterID: nil, witnessEpoch: 3)
        #expect(emptied.standby != nil)
        guard case .failure(let refusal) = emptied.forcePromotion(timeoutMilliseconds: 5_000, nowMilliseconds: 10) else {
            Issue.record("an emptied node's forced promotion was accepted"); return
        }
        #expect(refusal.message.contains("no cluster identity"))

        var member = standby(clusterID: cluster)
        guard case .success = member.forcePromotion(timeoutMilliseconds: 5_000, nowMilliseconds: 10) else {
            Issue.record("a member's forced promotion was refused"); return
        }
    }

    @Test func withoutAWitness_fenceIsRefused_andTheRoleIsTheFlag() {
        var node = DataNode(configuration: configuration(witness: false), history: EpochHistory(), lastLSN: .zero, lastRecordChecksum: nil)
        #expect(node.primary != nil)
        #expect(node.mayAcknowledge(nowMilliseconds: 0))
        #expect(node.fenced(epoch: Epoch(3), by: peer, clusterID: cluster, nowMilliseconds: 0) == .failure(.notCoordinated))
    }

    @Test func standbyLink_backsOffByDoubling_upToTwoSeconds() {
        var node = DataNode(configuration: configuration(witness: false, role: .standby), history: EpochHistory(),
                            lastLSN: .zero, lastRecordChecksum: nil)
        node.started(node: me, clusterID: nil, nowMilliseconds: 0)
        var now: Int64 = 0
        var delays: [Int64] = []
        for _ in 0..<7 {
            #expect(node.tick(nowMilliseconds: now).contains(.connectToPrimary))
            #expect(!node.tick(nowMilliseconds: now).contains(.connectToPrimary), "one dial at a time")
            _ = node.primaryLinkFailed("refused", refused: true, nowMilliseconds: now)
            let next = node.standby!.nextConnectAtMilliseconds
            #expect(!node.tick(nowMilliseconds: next - 1).contains(.connectToPrimary), "not before the backoff has run out")
            delays.append(next - now)
            now = next
        }
        #expect(delays == [100, 200, 400, 800, 1_600, 2_000, 2_000])
    }

    @Test func eventsOfAReplacedLink_changeNothing() {
        var node = DataNode(configuration: configuration(witness: false, role: .standby), history: EpochHistory(),
                            lastLSN: .zero, lastRecordChecksum: nil)
        node.started(node: me, clusterID: nil, nowMilliseconds: 0)
        _ = node.tick(nowMilliseconds: 0)
        #expect(node.primaryLinkOpened(link: 5)?.count == 1)
        #expect(node.primaryLinkOpened(link: 6) == nil, "a second dial's link is not wanted: the first stays")
        #expect(node.primaryLinkClosed(link: 4, nowMilliseconds: 1) == [])
        #expect(node.primaryAnswered(.stream(epoch: Epoch(1), from: LSN(1), clusterID: nil), link: 4, nowMilliseconds: 1) == [])
        #expect(node.linkStatus == "handshake")
        _ = node.primaryAnswered(.stream(epoch: Epoch(1), from: LSN(1), clusterID: nil), link: 5, nowMilliseconds: 1)
        #expect(node.linkStatus == "connected")
    }

    /// A primary (no witness needed for the log part) with a standby attached on link 1 at LSN 10.
    private func attached(_ node: inout DataNode, lastLSN: LSN) {
        let facts = PrimaryLogFacts(lastWrittenLSN: node.log.written, oldestRetainedLSN: LSN(1), newestSnapshotLSN: nil,
                                    checksumOfRecord: { _ in 7 })
        let handshake = StandbyHandshake(standbyAddress: peer, epoch: node.epoch, lastLSN: lastLSN, lastRecordChecksum: 7,
                                         history: node.history, clusterID: cluster)
        let (outcome, _) = node.standbyHandshake(handshake, link: 1, facts: facts, nowMilliseconds: 1_001)
        guard case .stream = outcome else { fatalError("not streamed: \(outcome)") }
        _ = node.standbyReadyToStream(link: 1, nowMilliseconds: 1_001)
    }

    /// A primary under its lease, its standby attached at LSN 10 and sent LSN 11 (not yet acknowledged).
    private func leasedWithOneRecordSent(mutation: DataNode.Mutation? = nil) -> DataNode {
        var (node, _) = promoted(mutation: mutation)
        _ = node.standbyEchoed(sentAtMilliseconds: 1_001, epoch: Epoch(2), link: 0, nowMilliseconds: 1_001)
        attached(&node, lastLSN: LSN(10))
        let written = write(&node, now: 1_002)
        #expect(written.contains(.sendRecords(from: LSN(11), maxBytes: 1 << 20)))
        _ = node.recordsSent(upTo: LSN(11), bytes: 100, nowMilliseconds: 1_002)
        return node
    }

    @Test func switchover_asksTheWitness_onlyOnceTheStandbyHoldsEveryRecord() throws {
        var node = leasedWithOneRecordSent()
        let begun = try node.beginSwitchover(timeoutMilliseconds: 2_000, leaving: false, nowMilliseconds: 1_003).get()
        #expect(request(in: begun) == nil, "the standby lacks LSN 11")
        #expect(node.isHandingOver)
        #expect(request(in: node.standbyAcknowledged(durableLSN: LSN(10), epoch: Epoch(2), link: 1, nowMilliseconds: 1_004)) == nil)
        let caughtUp = node.standbyAcknowledged(durableLSN: LSN(11), epoch: Epoch(2), link: 1, nowMilliseconds: 1_005)
        guard case .handover(_, _, let to, _, let last)? = request(in: caughtUp) else {
            Issue.record("no HANDOVER once the standby holds LSN 11: \(caughtUp)")
            return
        }
        #expect(to == peer && last == LSN(11))
    }

    @Test func switchover_toANodeThatIsNotTheStandby_isRefused_andNothingStarts() throws {
        var node = leasedWithOneRecordSent()
        guard case .failure(let refusal) = node.beginSwitchover(to: "10.9.9.9:1", timeoutMilliseconds: 2_000, leaving: false,
                                                                 nowMilliseconds: 1_003) else {
            Issue.record("a switchover to a stranger started")
            return
        }
        #expect(refusal.message.contains("10.9.9.9:1") && refusal.message.contains(peer))
        #expect(!node.isHandingOver)
        _ = try node.beginSwitchover(to: peer, timeoutMilliseconds: 2_000, leaving: false, nowMilliseconds: 1_003).get()
        #expect(node.isHandingOver)
    }

    @Test func handOverEarly_mutation_asksTheWitnessAtOnce() throws {
        var node = leasedWithOneRecordSent(mutation: .handOverEarly)
        let begun = try node.beginSwitchover(timeoutMilliseconds: 2_000, leaving: false, nowMilliseconds: 1_003).get()
        #expect(request(in: begun) != nil)
    }

    @Test func health_isRunningAndWritable_untilDrainingOrAFailedLogFencesIt() {
        var node = DataNode(configuration: DataNode.Configuration(pair: nil), history: EpochHistory(), lastLSN: LSN(3),
                            lastRecordChecksum: nil)
        let running = node.health(draining: false, nowMilliseconds: 0)
        #expect(running.status == .running && running.role == "standalone" && running.acceptsWrites)
        #expect(running.syncState == nil && running.leaseRemainingMilliseconds == nil && !running.isStreamingStandby)
        #expect(node.health(draining: true, nowMilliseconds: 0).status == .draining)
        _ = node.logFailed("fdatasync: EIO")
        let fenced = node.health(draining: false, nowMilliseconds: 0)
        #expect(fenced.status == .fenced && !fenced.acceptsWrites)
    }

    @Test func aFailedLog_failsWhatWasHeldAsUnknown_andRefusesWrites() {
        var node = DataNode(configuration: DataNode.Configuration(pair: nil), history: EpochHistory(), lastLSN: LSN(3),
                            lastRecordChecksum: nil)
        node.appended(upTo: LSN(4), checksum: 1)
        let actions = node.logFailed("fdatasync: EIO")
        #expect(actions.contains { if case .fail(let after, _, let message) = $0 {
            return after == LSN(3) && message.hasPrefix(UncertainOutcome.prefix)
        } else { return false } })
        #expect(node.refusal(isWrite: true, nowMilliseconds: 0) == .logFailed(reason: "fdatasync: EIO"))
        #expect(node.refusal(isWrite: false, nowMilliseconds: 0) == .logFailedRead(reason: "fdatasync: EIO"),
                "no read waits for a record that never becomes durable, nor sees one")
        #expect(node.logFailed("again") == [], "the first failure stands")
    }
}
