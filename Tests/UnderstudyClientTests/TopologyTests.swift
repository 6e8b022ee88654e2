import Testing
import UnderstudyCore
@testable import UnderstudyClient

@Suite struct TopologyTests {
    let a = NodeAddress(host: "10.0.0.1", port: 7001)
    let b = NodeAddress(host: "10.0.0.2", port: 7002)

    private func topology() -> Topology { Topology(seeds: [a, b, a], minimumProbeIntervalMilliseconds: 50) }

    @Test func probeAnswers_pickThePrimaryOfTheHighestEpoch() {
        var view = topology()
        #expect(view.nodes == [a, b])
        let events = view.receive([
            .init(node: a, role: .primary, epoch: 3),
            .init(node: b, role: .standby(primary: a), epoch: 3),
        ])
        #expect(view.primary == a && view.standby == b && view.highestEpoch == 3)
        #expect(events == [TopologyEvent(kind: .primaryChanged, node: a, epoch: 3)])
        #expect(events.first?.description == "primary changed to 10.0.0.1:7001 in epoch 3")
    }

    @Test func onProbe_aPrimaryClaimFromALowerEpoch_isIgnored() {
        var view = topology()
        _ = view.receive([.init(node: b, role: .primary, epoch: 5)])
        let events = view.receive([.init(node: a, role: .primary, epoch: 4)])
        #expect(view.primary == b && view.highestEpoch == 5)
        #expect(events == [TopologyEvent(kind: .staleAnswerIgnored, node: a, epoch: 4)])
    }

    @Test func onRedirect_fromAStandby_theNamedPrimaryIsAdopted() {
        var view = topology()
        _ = view.receive([.init(node: a, role: .primary, epoch: 1)])
        let events = view.receive(.init(primary: b, epoch: 2), from: a)
        #expect(view.primary == b && view.standby == a && view.highestEpoch == 2)
        #expect(events == [TopologyEvent(kind: .primaryLost, node: a, epoch: 2), TopologyEvent(kind: .primaryChanged, node: b, epoch: 2)])
    }

    @Test func onRedirect_fromALowerEpoch_isIgnored() {
        var view = topology()
        _ = view.receive([.init(node: b, role: .primary, epoch: 6)])
        let events = view.receive(.init(primary: a, epoch: 5), from: b)
        #expect(view.primary == b)
        #expect(events == [TopologyEvent(kind: .staleAnswerIgnored, node: b, epoch: 5)])
    }

    @Test func onRedirect_withoutAPrimary_thePrimaryIsLost_andANewNodeIsLearned() {
        var view = topology()
        _ = view.receive([.init(node: a, role: .primary, epoch: 1)])
        let lost = view.receive(.init(primary: nil, epoch: 2), from: a)
        #expect(lost == [TopologyEvent(kind: .primaryLost, node: a, epoch: 2)])
        #expect(view.node(for: .primary, attemptIndex: 0, nowMilliseconds: 0) == nil)
        let c = NodeAddress(host: "10.0.0.3", port: 7003)
        _ = view.receive(.init(primary: c, epoch: 3), from: b)
        #expect(view.nodes == [a, b, c] && view.primary == c)
    }

    @Test("A read allowed on the standby goes there while its reported lag is recent and within the bound; otherwise, and on retries, to the primary")
    func standbyAllowedReads_goToTheStandby_onlyWithinTheLagBound() {
        var view = topology()
        let route = Topology.Route.standbyAllowed(maxLagMilliseconds: 100)
        _ = view.receive([.init(node: a, role: .primary, epoch: 1), .init(node: b, role: .standby(primary: a), epoch: 1, lagMilliseconds: 40)],
                         nowMilliseconds: 1_000)
        #expect(view.node(for: route, attemptIndex: 0, nowMilliseconds: 1_500) == b)
        #expect(view.node(for: route, attemptIndex: 1, nowMilliseconds: 1_500) == a, "a retry goes to the primary")
        #expect(view.node(for: .primary, attemptIndex: 0, nowMilliseconds: 1_500) == a)
        #expect(view.node(for: route, attemptIndex: 0, nowMilliseconds: 2_001) == a, "a lag report over a second old is not relied on")
        #expect(view.wantsFreshLag(for: route, nowMilliseconds: 2_001))
        _ = view.receive([.init(node: b, role: .standby(primary: a), epoch: 1, lagMilliseconds: 400)], nowMilliseconds: 2_100)
        #expect(view.node(for: route, attemptIndex: 0, nowMilliseconds: 2_100) == a, "lagging past the bound")
        _ = view.receive([.init(node: b, role: .standby(primary: a), epoch: 1, lagMilliseconds: nil)], nowMilliseconds: 2_200)
        #expect(view.node(for: route, attemptIndex: 0, nowMilliseconds: 2_200) == a, "its link is down: lag unknown")
    }

    @Test func probes_areRateLimited() {
        var view = topology()
        let answers = [0, 49, 50].map { view.shouldProbe(nowMilliseconds: $0) }
        #expect(answers == [true, false, true])
    }

    @Test func parseProbe_readsRedisRoleLayout_andTheEpochFromInfo() {
        let info = Reply.bulk("# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nunderstudy_epoch:12\r\nunderstudy_lag_milliseconds:7\r\n")
        let standby = Topology.parseProbe(node: b, role: .array([.bulk("slave"), .bulk("10.0.0.1"), .integer(7001), .bulk("connected"), .integer(5)]), info: info)
        #expect(standby == .init(node: b, role: .standby(primary: a), epoch: 12, lagMilliseconds: 7))
        let primary = Topology.parseProbe(node: a, role: .array([.bulk("master"), .integer(9), .array([])]), info: .bulk("role:master\r\n"))
        #expect(primary == .init(node: a, role: .primary, epoch: 0))
        #expect(Topology.parseProbe(node: a, role: .error("ERR unknown command"), info: info) == nil)
    }
}
