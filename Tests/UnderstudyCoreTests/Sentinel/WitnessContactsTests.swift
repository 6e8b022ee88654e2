import Testing
@testable import UnderstudyCore

@Suite struct WitnessContactsTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]
    private var witness: Witness { Witness(nodes: nodes, record: nil, nowMilliseconds: 0) }

    private func beat(_ node: String, attached: Bool) -> WitnessRequest {
        .heartbeat(WitnessHeartbeat(node: node, epoch: Epoch(1), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(1),
                                    standbyDurableLSN: LSN(1), standbyLagBytes: 0, standbyAttached: attached))
    }

    @Test func atStart_everyNodeCountsAsJustHeard() {
        let contacts = WitnessContacts(nodes: nodes, startedAtMilliseconds: 100)
        #expect(contacts.silenceMilliseconds(of: nodes[0], nowMilliseconds: 400) == 300)
        #expect(contacts.silenceMilliseconds(of: nodes[1], nowMilliseconds: 400) == 300)
    }

    @Test func aHeartbeatWithAStreamingStandby_vouchesForTheStandby() {
        var contacts = WitnessContacts(nodes: nodes, startedAtMilliseconds: 0)
        contacts.heard(beat(nodes[0], attached: true), member: witness.member, nowMilliseconds: 1_000)
        #expect(contacts.silenceMilliseconds(of: nodes[0], nowMilliseconds: 1_000) == 0)
        #expect(contacts.silenceMilliseconds(of: nodes[1], nowMilliseconds: 1_000) == 0)
        contacts.heard(beat(nodes[0], attached: false), member: witness.member, nowMilliseconds: 2_000)
        #expect(contacts.silenceMilliseconds(of: nodes[1], nowMilliseconds: 2_000) == 1_000)
    }

    @Test func aNodeOnAnUnspecifiedAddress_isHeardUnderItsListedName_andStrangersAreNot() {
        var contacts = WitnessContacts(nodes: nodes, startedAtMilliseconds: 0)
        let vote = WitnessRequest.vote(node: "0.0.0.0:7002", epoch: Epoch(2), durableLSN: LSN(1), maxLagBytes: 0)
        contacts.heard(vote, member: witness.member, nowMilliseconds: 500)
        contacts.heard(.hello(node: "10.0.0.9:7001", hint: nil, epoch: Epoch(1), lastLSN: .zero), member: witness.member,
                       nowMilliseconds: 900)
        #expect(contacts.silenceMilliseconds(of: nodes[1], nowMilliseconds: 900) == 400)
        #expect(contacts.silenceMilliseconds(of: nodes[0], nowMilliseconds: 900) == 900)
        #expect(contacts.lastHeardMilliseconds.count == 2)
    }
}
