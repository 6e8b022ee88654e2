import Testing
@testable import UnderstudyCore

@Suite struct WitnessNodeWatchTests {
    private func beat(_ node: String, attached: Bool) -> WitnessHeartbeat {
        WitnessHeartbeat(node: node, epoch: Epoch(2), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(10),
                         standbyDurableLSN: nil, standbyLagBytes: nil, standbyAttached: attached)
    }

    @Test func aSilentPrimaryIsDownOnceAndUpAgainOnItsNextHeartbeat() {
        var watch = WitnessNodeWatch()
        #expect(watch.heard(beat("a:1", attached: true), standby: "b:2", nowMilliseconds: 0).isEmpty)
        #expect(watch.tick(nowMilliseconds: 1_000, epoch: Epoch(2)).isEmpty)  // two leases: not yet
        let down = watch.tick(nowMilliseconds: 1_001, epoch: Epoch(2))
        #expect(down.map(\.kind) == [.nodeDown])
        #expect(down.first?.details["node"] == "a:1")
        #expect(watch.tick(nowMilliseconds: 5_000, epoch: Epoch(2)).isEmpty)  // reported once
        #expect(watch.heard(beat("a:1", attached: true), standby: "b:2", nowMilliseconds: 5_100).map(\.kind) == [.nodeUp])
    }

    @Test func theStandbyIsDownWhenThePrimarySaysItDetached() {
        var watch = WitnessNodeWatch()
        #expect(watch.heard(beat("a:1", attached: false), standby: "b:2", nowMilliseconds: 0).isEmpty)  // nothing known yet
        let up = watch.heard(beat("a:1", attached: true), standby: "b:2", nowMilliseconds: 100)
        #expect(up.map(\.kind) == [.nodeUp])
        let down = watch.heard(beat("a:1", attached: false), standby: "b:2", nowMilliseconds: 200)
        #expect(down.map(\.kind) == [.nodeDown])
        #expect(down.first?.details["node"] == "b:2")
    }

    @Test func afterAFailoverTheOldPrimaryIsDownUntilItAttaches() {
        var watch = WitnessNodeWatch()
        _ = watch.heard(beat("a:1", attached: true), standby: "b:2", nowMilliseconds: 0)
        let down = watch.heard(beat("b:2", attached: false), standby: "a:1", nowMilliseconds: 600)
        #expect(down.map(\.kind) == [.nodeDown])
        #expect(down.first?.details["node"] == "a:1")
        #expect(watch.heard(beat("b:2", attached: true), standby: "a:1", nowMilliseconds: 900).map(\.kind) == [.nodeUp])
    }
}
