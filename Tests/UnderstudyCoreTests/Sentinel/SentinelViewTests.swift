import Testing
@testable import UnderstudyCore

@Suite struct SentinelViewTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]

    private func record(primary: Int = 0, epoch: UInt64 = 3) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: nodes[primary], standby: nodes[1 - primary], standbyInSync: true, mode: .sync,
                      leaseMilliseconds: 500)
    }

    private func report(from primary: Int = 0, epoch: UInt64 = 3, attached: Bool = true) -> WitnessHeartbeat {
        WitnessHeartbeat(node: nodes[primary], epoch: Epoch(epoch), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(40),
                         standbyDurableLSN: LSN(37), standbyLagBytes: 0, standbyAttached: attached)
    }

    private func view(_ record: WitnessRecord?, report: WitnessHeartbeat? = nil, heard: [String: Int64] = [:],
                      now: Int64 = 1_000) -> SentinelView? {
        var contacts = WitnessContacts(nodes: nodes, startedAtMilliseconds: 0)
        let witness = Witness(nodes: nodes, record: nil, nowMilliseconds: 0)
        for (node, at) in heard.sorted(by: { $0.value < $1.value }) {
            contacts.heard(.hello(node: node, hint: nil, epoch: Epoch(1), lastLSN: .zero), member: witness.member, nowMilliseconds: at)
        }
        return SentinelView(masterName: "understudy", record: record, lastReport: report, contacts: contacts,
                            downAfterMilliseconds: 1_000, nowMilliseconds: now)
    }

    @Test func noPrimaryChosenYet_isNoView() {
        #expect(view(nil) == nil)
        var headless = record()
        headless.primary = nil
        #expect(view(headless) == nil)
    }

    @Test func theRecordsPrimaryIsTheMaster_andItsStandbyTheReplica() throws {
        let promoted = try #require(view(record(primary: 1), report: report(from: 1)))
        #expect(promoted.master.endpoint == SentinelEndpoint(host: "127.0.0.1", port: 7002))
        #expect(promoted.epoch == Epoch(3))
        #expect(promoted.replicas.map(\.address) == [nodes[0]])
        #expect(promoted.replicas[0].linkUp)
        #expect(promoted.replicas[0].replicationOffset == 37)
        #expect(!promoted.master.isDown && !promoted.replicas[0].isDown)
    }

    @Test func aNodeUnheardForLongerThanDownAfter_isDown() throws {
        let silent = try #require(view(record(), heard: [nodes[1]: 1_500], now: 2_001))
        #expect(silent.master.isDown)
        #expect(silent.master.silenceMilliseconds == 2_001)
        #expect(!silent.replicas[0].isDown)
        #expect(!silent.replicas[0].linkUp)  // its master is down
        let atTheLimit = try #require(view(record(), now: 1_000))
        #expect(!atTheLimit.master.isDown)
    }

    @Test func aStandbyIsDown_onlyWhileTheWitnessHearsThePrimaryButNotOfIt() throws {
        let unheard = try #require(view(record(), heard: [nodes[0]: 2_001], now: 2_001))
        #expect(!unheard.master.isDown && unheard.replicas[0].isDown)
        // Both silent (the primary paused: its heartbeats carried the standby's news): no evidence.
        let bothSilent = try #require(view(record(), heard: [nodes[0]: 100, nodes[1]: 50], now: 3_000))
        #expect(bothSilent.master.isDown && !bothSilent.replicas[0].isDown)
    }

    @Test func aReportOfAnotherEpochOrPrimary_saysNothingOfTheLink() throws {
        #expect(try #require(view(record(), report: report(epoch: 2))).replicas[0].linkUp == false)
        #expect(try #require(view(record(), report: report(from: 1))).replicas[0].replicationOffset == 0)
        #expect(try #require(view(record(), report: report(attached: false))).replicas[0].linkUp == false)
    }

    @Test func endpoints_splitHostAndPort_includingIPv6() {
        #expect(SentinelEndpoint(parsing: "[::1]:7001") == SentinelEndpoint(host: "::1", port: 7001))
        #expect(SentinelEndpoint(parsing: "db.example:6379")?.words == "db.example 6379")
        #expect(SentinelEndpoint(parsing: "no-port") == nil)
        #expect(SentinelEndpoint(parsing: "h:70000") == nil)
    }
}
