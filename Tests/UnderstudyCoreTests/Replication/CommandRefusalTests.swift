import Testing
@testable import UnderstudyCore

@Suite struct CommandRefusalTests {
    private func facts(pair: ReplicationRole? = .primary, coordinated: NodeCoordinator.Role? = .primary, lease: Bool = true,
                       supersededBy: Epoch? = nil, logFailure: String? = nil) -> CommandRefusal.NodeFacts {
        CommandRefusal.NodeFacts(pairRole: pair, coordinatedRole: coordinated, hasLease: lease, epoch: Epoch(2),
                                 knownEpoch: Epoch(3), supersededBy: supersededBy, logFailure: logFailure)
    }

    private func refusal(_ isWrite: Bool, _ node: CommandRefusal.NodeFacts, limit: Admission = .accept) -> CommandRefusal? {
        CommandRefusal.of(isWrite: isWrite, node: node, admitWrite: { limit })
    }

    @Test func standaloneNode_runsEverything_untilItsLogFails() {
        let standalone = facts(pair: nil, coordinated: nil)
        #expect(refusal(true, standalone) == nil)
        #expect(refusal(true, facts(pair: nil, coordinated: nil, logFailure: "EIO")) == .logFailed(reason: "EIO"))
        #expect(refusal(false, facts(pair: nil, coordinated: nil, logFailure: "EIO")) == .logFailedRead(reason: "EIO"),
                "reads stop too: memory may hold writes the disk never got")
    }

    @Test func undecidedNode_refusesReadsAndWrites() {
        #expect(refusal(false, facts(pair: .standby, coordinated: .undecided)) == .roleUndecided)
        #expect(refusal(true, facts(pair: .standby, coordinated: .undecided)) == .roleUndecided)
    }

    @Test func primaryWithoutLease_refusesReadsAndWrites() {
        #expect(refusal(false, facts(lease: false)) == .leaseExpired(epoch: Epoch(2)))
        #expect(refusal(true, facts(lease: false)) == .leaseExpired(epoch: Epoch(2)))
    }

    @Test func standby_servesReads_andRedirectsWritesWithTheHighestEpochItKnows() {
        #expect(refusal(false, facts(pair: .standby, coordinated: .standby)) == nil)
        #expect(refusal(true, facts(pair: .standby, coordinated: .standby)) == .standby(knownEpoch: Epoch(3)))
    }

    @Test func supersededPrimary_refusesWrites_beforeItsLimitsAreAsked() {
        #expect(refusal(true, facts(supersededBy: Epoch(4)), limit: .refuse(message: "NOREPLICAS x")) == .superseded(epoch: Epoch(2), by: Epoch(4)))
        #expect(refusal(true, facts(), limit: .refuse(message: "NOREPLICAS x")) == .limit(message: "NOREPLICAS x"))
        #expect(refusal(false, facts(), limit: .refuse(message: "NOREPLICAS x")) == nil, "limits are for writes")
    }
}
