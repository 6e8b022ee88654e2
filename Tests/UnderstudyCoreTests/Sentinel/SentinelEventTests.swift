import Testing
@testable import UnderstudyCore

@Suite struct SentinelEventTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]
    let a = SentinelEndpoint(host: "127.0.0.1", port: 7001)
    let b = SentinelEndpoint(host: "127.0.0.1", port: 7002)

    private func view(primary: Int, epoch: UInt64, down: Set<Int> = []) -> SentinelView {
        func instance(_ index: Int) -> SentinelView.Instance {
            SentinelView.Instance(address: nodes[index], endpoint: SentinelEndpoint(parsing: nodes[index])!, isDown: down.contains(index),
                                  silenceMilliseconds: 0, linkUp: !down.contains(index), replicationOffset: 0)
        }
        var view = SentinelView(
            masterName: "understudy",
            record: WitnessRecord(epoch: Epoch(epoch), primary: nodes[primary], standby: nodes[1 - primary], standbyInSync: true,
                                  mode: .sync, leaseMilliseconds: 500),
            lastReport: nil, contacts: WitnessContacts(nodes: nodes, startedAtMilliseconds: 0), downAfterMilliseconds: 1_000,
            nowMilliseconds: 0)!
        view.master = instance(primary)
        view.replicas = [instance(1 - primary)]
        return view
    }

    private func messages(_ events: [SentinelEvent]) -> [String] {
        events.map { "\($0.channel) \($0.message(masterName: "understudy"))" }
    }

    @Test func noChange_publishesNothing_andTheFirstViewNoSwitch() {
        #expect(SentinelEvent.changes(from: view(primary: 0, epoch: 1), to: view(primary: 0, epoch: 1)).isEmpty)
        #expect(SentinelEvent.changes(from: nil, to: view(primary: 0, epoch: 1)).isEmpty)
        #expect(SentinelEvent.changes(from: view(primary: 0, epoch: 1), to: nil).isEmpty)
    }

    @Test func failover_afterTheMasterWentDown_publishesTheSwitch_thenTheOldMasterDownAsAReplica() {
        let before = view(primary: 0, epoch: 1)
        let silent = view(primary: 0, epoch: 1, down: [0])
        #expect(messages(SentinelEvent.changes(from: before, to: silent)) == [
            "+sdown master understudy 127.0.0.1 7001",
            "+odown master understudy 127.0.0.1 7001 #quorum 1/1",
        ])
        let promoted = view(primary: 1, epoch: 2, down: [0])
        #expect(messages(SentinelEvent.changes(from: silent, to: promoted)) == [
            "+new-epoch 2",
            "+elected-leader master understudy 127.0.0.1 7001",
            "+failover-end master understudy 127.0.0.1 7001",
            "+switch-master understudy 127.0.0.1 7001 127.0.0.1 7002",
            "+sdown slave 127.0.0.1:7001 127.0.0.1 7001 @ understudy 127.0.0.1 7002",
        ])
        #expect(messages(SentinelEvent.changes(from: promoted, to: view(primary: 1, epoch: 2))) == [
            "-sdown slave 127.0.0.1:7001 127.0.0.1 7001 @ understudy 127.0.0.1 7002",
        ])
    }

    @Test func switchover_publishesTheSwitch_andTheOldMasterConvertedToAReplica() {
        let events = SentinelEvent.changes(from: view(primary: 0, epoch: 4), to: view(primary: 1, epoch: 5))
        #expect(events == [
            .newEpoch(Epoch(5)), .electedLeader(old: a), .failoverEnd(old: a), .switchMaster(old: a, new: b),
            .convertToReplica(.replica(address: nodes[0], a, master: b)),
        ])
        #expect(messages([events[4]]) == ["+convert-to-slave slave 127.0.0.1:7001 127.0.0.1 7001 @ understudy 127.0.0.1 7002"])
    }

    @Test func aMasterHeardAgain_isUpAgain_andAReplicasHealthIsItsOwn() {
        let events = SentinelEvent.changes(from: view(primary: 0, epoch: 1, down: [0, 1]), to: view(primary: 0, epoch: 1))
        #expect(messages(events) == [
            "-sdown master understudy 127.0.0.1 7001",
            "-odown master understudy 127.0.0.1 7001",
            "-sdown slave 127.0.0.1:7002 127.0.0.1 7002 @ understudy 127.0.0.1 7001",
        ])
    }

    @Test func aNewEpochWithTheSamePrimary_isOnlyANewEpoch() {
        #expect(SentinelEvent.changes(from: view(primary: 0, epoch: 1), to: view(primary: 0, epoch: 2)) == [.newEpoch(Epoch(2))])
    }
}
