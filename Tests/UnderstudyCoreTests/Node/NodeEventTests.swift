import Testing
@testable import UnderstudyCore

@Suite struct NodeEventTests {
    private func record(_ epoch: UInt64, primary: String?, inSync: Bool) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: primary, standby: primary == "a:1" ? "b:2" : "a:1",
                      standbyInSync: inSync, mode: .sync, leaseMilliseconds: 500, clusterID: "c")
    }

    @Test func aNewEpochWithANewPrimaryIsTwoEvents() {
        let events = NodeEvent.witnessChanges(from: record(2, primary: "a:1", inSync: true), to: record(3, primary: "b:2", inSync: true))
        #expect(events.map(\.kind) == [.epochGranted, .primaryChanged])
        #expect(events.allSatisfy { $0.epoch == Epoch(3) })
        #expect(events[1].details["previous_primary"] == "a:1")
    }

    @Test func theStandbyFallingOutOfSyncIsAnEvent() {
        let events = NodeEvent.witnessChanges(from: record(3, primary: "a:1", inSync: true), to: record(3, primary: "a:1", inSync: false))
        #expect(events.map(\.kind) == [.standbySyncChanged])
        #expect(events[0].details["in_sync"] == "0")
    }

    @Test func anUnchangedRecordIsNoEvent() {
        #expect(NodeEvent.witnessChanges(from: record(3, primary: "a:1", inSync: true), to: record(3, primary: "a:1", inSync: true)).isEmpty)
    }

    @Test func theWitnessReportsANodeDownAndUpAsSentinelClientsAreTold() {
        let primary = NetworkAddress(host: "10.0.0.1", port: 6380), standby = NetworkAddress(host: "10.0.0.2", port: 6380)
        let changes: [SentinelEvent] = [
            .subjectivelyDown(.master(primary)), .objectivelyDown(primary), .newEpoch(Epoch(4)),
            .subjectivelyUp(.replica(address: "10.0.0.2:6380", standby, master: primary)),
        ]
        let events = NodeEvent.witnessHealth(changes, epoch: Epoch(3), downAfterMilliseconds: 1_000)
        #expect(events.map(\.kind) == [.nodeDown, .nodeUp])
        #expect(events.map { $0.details["node"] } == ["10.0.0.1:6380", "10.0.0.2:6380"])
        #expect(events.map { $0.details["role"] } == ["primary", "standby"])
        #expect(events[0].reason.contains("1000 ms"))
    }

    @Test func theEndOfASwitchoverCarriesItsOutcome() {
        let done = NodeEvent.ended(.switchoverEnded, .done(primary: "b:2"), epoch: Epoch(4))
        #expect(done.details["outcome"] == "done")
        #expect(done.details["primary"] == "b:2")
        let failed = NodeEvent.ended(.switchoverEnded, .failed("ERR no standby"), epoch: Epoch(4))
        #expect(failed.reason == "ERR no standby")
        #expect(failed.details["outcome"] == "failed")
    }
}
