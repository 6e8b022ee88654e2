import Testing
@testable import UnderstudyCore

@Suite struct NodeCoordinatorTests {
    let me = "127.0.0.1:7001"
    let peer = "127.0.0.1:7002"
    let settings = CoordinationSettings(mode: .sync)
    let facts = NodeCoordinator.LogFacts(lastWrittenLSN: LSN(10), durableLSN: LSN(10))

    private func record(epoch: UInt64 = 1, primary: String, inSync: Bool = true) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: primary, standby: primary == me ? peer : me, standbyInSync: inSync,
                      mode: .sync, leaseMilliseconds: 500)
    }

    /// A coordinator the witness has made `role` at `now`: a standby straight from `HELLO`;
    /// a primary from `HELLO` and then a vote for the next epoch (a node named primary when
    /// it starts asks for a new epoch rather than resume one), so primaries are in epoch 2.
    private func coordinator(as role: NodeCoordinator.Role, now: Int64 = 0, inSync: Bool = true,
                             settings: CoordinationSettings? = nil) -> NodeCoordinator {
        let settings = settings ?? self.settings
        let start = role == .primary ? now - settings.promiseMilliseconds : now
        var coordinator = NodeCoordinator(node: me, hint: nil, epoch: Epoch(1), settings: settings, nowMilliseconds: start)
        let hello = coordinator.tick(nowMilliseconds: start, facts: facts)
        guard case .askWitness(let request)? = hello.first else { fatalError("an undecided node says hello first") }
        _ = coordinator.witnessAnswered(request, reply: .state(record(primary: role == .primary ? me : peer, inSync: inSync)),
                                        sentAtMilliseconds: start, nowMilliseconds: start)
        guard role == .primary else { return coordinator }
        guard case .askWitness(let vote)? = coordinator.tick(nowMilliseconds: now, facts: facts).first else {
            fatalError("a node named primary asks for the next epoch")
        }
        _ = coordinator.witnessAnswered(vote, reply: .state(record(epoch: 2, primary: me, inSync: inSync)),
                                        sentAtMilliseconds: now, nowMilliseconds: now)
        return coordinator
    }

    @Test func undecided_namedPrimary_asksForTheNextEpoch_afterItsOwnPromise() {
        var node = NodeCoordinator(node: me, hint: .primary, epoch: Epoch(1), settings: settings, nowMilliseconds: 0)
        #expect(node.tick(nowMilliseconds: 0, facts: facts) == [.askWitness(.hello(node: me, hint: .primary, epoch: Epoch(1), lastLSN: LSN(10), lastRecordEpoch: Epoch(0)))])
        #expect(node.tick(nowMilliseconds: 50, facts: facts) == [], "one hello at a time")
        let request = WitnessRequest.hello(node: me, hint: .primary, epoch: Epoch(1), lastLSN: LSN(10), lastRecordEpoch: Epoch(0))
        #expect(node.witnessAnswered(request, reply: .state(record(epoch: 3, primary: me)), sentAtMilliseconds: 0, nowMilliseconds: 1) == [],
                "a restarted primary never resumes an epoch: records it lost could get successors with the same (epoch, LSN)")
        #expect(node.role == .undecided)
        #expect(node.tick(nowMilliseconds: settings.promiseMilliseconds - 1, facts: facts) == [], "its own promise may still run")
        let vote = WitnessRequest.vote(node: me, epoch: Epoch(4), durableLSN: LSN(10), maxLagBytes: settings.maxLagOnFailoverBytes,
                                       durableRecordEpoch: Epoch(0))
        #expect(node.tick(nowMilliseconds: settings.promiseMilliseconds, facts: facts) == [.askWitness(vote)])
        #expect(node.witnessAnswered(vote, reply: .state(record(epoch: 4, primary: me)), sentAtMilliseconds: 600, nowMilliseconds: 601)
                == [.becomePrimary(epoch: Epoch(4), acknowledgeAlone: false)], "the record says the standby is in sync: wait for it")
        #expect(node.role == .primary)
        #expect(!node.hasLease(nowMilliseconds: 601), "no lease before a voter answers a heartbeat")
    }

    @Test func undecided_namedStandby_followsAtOnce() {
        var node = NodeCoordinator(node: me, hint: nil, epoch: Epoch(1), settings: settings, nowMilliseconds: 0)
        guard case .askWitness(let hello)? = node.tick(nowMilliseconds: 0, facts: facts).first else { Issue.record("no hello"); return }
        #expect(node.witnessAnswered(hello, reply: .state(record(epoch: 3, primary: peer)), sentAtMilliseconds: 0, nowMilliseconds: 1)
                == [.becomeStandby(epoch: Epoch(3), primary: peer)])
    }

    @Test func standby_afterAnUnansweredVote_makesNoPromise_untilTheWitnessAnswers() {
        var node = coordinator(as: .standby, now: 0)
        guard case .askWitness(let vote)? = node.tick(nowMilliseconds: 5_000, facts: facts).first else { Issue.record("no vote"); return }
        #expect(node.witnessUnreachable(vote) == [])
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 5_050)
        #expect(!echoed, "the vote may have been granted: a promise now could be broken by it")
        guard case .askWitness(let again)? = node.tick(nowMilliseconds: 5_100, facts: facts).first else { Issue.record("no retry"); return }
        _ = node.witnessAnswered(again, reply: .staleEpoch(Epoch(1), primary: peer), sentAtMilliseconds: 5_100, nowMilliseconds: 5_101)
        let echoedAfter = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 5_150)
        #expect(echoedAfter)
    }

    @Test func primary_leaseRunsFromTheSendTime_ofTheNewestAcknowledgedHeartbeat() {
        var node = coordinator(as: .primary)
        let actions = node.tick(nowMilliseconds: 100, facts: facts)
        #expect(actions.contains(.sendStandbyHeartbeat(sentAtMilliseconds: 100)))
        guard let beat = actions.compactMap({ action -> WitnessRequest? in
            if case .askWitness(let request) = action, case .heartbeat = request { return request } else { return nil }
        }).first else { Issue.record("the primary heartbeats the witness"); return }
        #expect(node.witnessAnswered(beat, reply: .state(record(epoch: 2, primary: me)), sentAtMilliseconds: 100, nowMilliseconds: 180) == [.leaseAcquired])
        #expect(node.hasLease(nowMilliseconds: 599))
        #expect(!node.hasLease(nowMilliseconds: 600), "the lease is counted from the send time, not the answer")
        #expect(node.standbyEchoedHeartbeat(sentAtMilliseconds: 300, epoch: Epoch(2), nowMilliseconds: 700) == [.leaseAcquired])
        #expect(node.hasLease(nowMilliseconds: 799))
    }

    @Test func primary_stepsDown_onAHigherEpoch_andLosesItsLeaseAtOnce() {
        var node = coordinator(as: .primary)
        _ = node.standbyEchoedHeartbeat(sentAtMilliseconds: 0, epoch: Epoch(2), nowMilliseconds: 1)
        #expect(node.hasLease(nowMilliseconds: 2))
        #expect(node.witnessAnswered(.heartbeat(WitnessHeartbeat(node: me, epoch: Epoch(2), mode: .sync, leaseMilliseconds: 500,
                                                                  lastWrittenLSN: .zero, standbyDurableLSN: nil, standbyLagBytes: nil)),
                                     reply: .staleEpoch(Epoch(3), primary: peer), sentAtMilliseconds: 2, nowMilliseconds: 3)
                == [.becomeStandby(epoch: Epoch(3), primary: peer)])
        #expect(!node.hasLease(nowMilliseconds: 4))
        #expect(node.role == .standby)
    }

    @Test func standby_asksForAVote_onlyAfterTheFailureTimeout_andItsOwnPromise() {
        var node = coordinator(as: .standby, now: 0)
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 900)
        #expect(echoed)
        #expect(node.tick(nowMilliseconds: 1_899, facts: facts) == [])
        let vote = node.tick(nowMilliseconds: 1_900, facts: facts)
        #expect(vote == [.askWitness(.vote(node: me, epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: settings.maxLagOnFailoverBytes,
                                                   durableRecordEpoch: Epoch(0)))])
    }

    @Test func standby_fastSignal_stillWaitsForItsPromise() {
        var node = coordinator(as: .standby, now: 0)
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 1_000)
        #expect(echoed)
        node.primaryRefusedConnection()
        #expect(node.tick(nowMilliseconds: 1_000 + settings.promiseMilliseconds - 1, facts: facts) == [])
        #expect(node.tick(nowMilliseconds: 1_000 + settings.promiseMilliseconds, facts: facts).count == 1)
    }

    @Test func standby_aPrimaryNeverHeard_isNotDeclaredCrashed_byARefusedConnection() {
        var node = coordinator(as: .standby, now: 0)
        node.primaryRefusedConnection()  // the primary may be starting itself
        #expect(node.tick(nowMilliseconds: settings.promiseMilliseconds + 10, facts: facts) == [])
        #expect(node.tick(nowMilliseconds: settings.promiseMilliseconds + settings.failureTimeoutMilliseconds, facts: facts).count == 1,
                "after the start-up grace and the failure timeout it does ask")
    }

    @Test func standby_withAVoteOut_makesNoPromise() {
        var node = coordinator(as: .standby, now: 0)
        _ = node.tick(nowMilliseconds: 5_000, facts: facts)  // asks for a vote
        let echoed = node.primaryHeartbeat(epoch: Epoch(1), nowMilliseconds: 5_001)
        #expect(!echoed, "echoing now could break the promise if the vote is granted")
    }

    @Test func standby_grantedVote_becomesPrimary_deniedVote_retries() {
        var node = coordinator(as: .standby, now: 0)
        guard case .askWitness(let vote)? = node.tick(nowMilliseconds: 5_000, facts: facts).first else { Issue.record("no vote"); return }
        #expect(node.witnessAnswered(vote, reply: .denied("lease promised"), sentAtMilliseconds: 5_000, nowMilliseconds: 5_001) == [])
        #expect(node.tick(nowMilliseconds: 5_050, facts: facts) == [], "retries no faster than the heartbeat interval")
        guard case .askWitness(let again)? = node.tick(nowMilliseconds: 5_100, facts: facts).first else { Issue.record("no retry"); return }
        let granted = WitnessRecord(epoch: Epoch(2), primary: me, standby: peer, standbyInSync: false, mode: .sync, leaseMilliseconds: 500)
        #expect(node.witnessAnswered(again, reply: .state(granted), sentAtMilliseconds: 5_100, nowMilliseconds: 5_101)
                == [.becomePrimary(epoch: Epoch(2), acknowledgeAlone: true)])
    }

    @Test func syncPrimary_marksASilentStandbyOutOfSync_beforeAcknowledgingAlone() {
        var node = coordinator(as: .primary, now: 0)
        let actions = node.tick(nowMilliseconds: 1_000, facts: facts)
        guard let request = actions.compactMap({ action -> WitnessRequest? in
            if case .askWitness(let request) = action, case .standbySync(_, _, false, _) = request { return request } else { return nil }
        }).first else { Issue.record("no SYNC 0 in \(actions)"); return }
        #expect(!actions.contains(.acknowledgeAlone(true)), "not before the witness recorded it")
        #expect(node.witnessAnswered(request, reply: .state(record(epoch: 2, primary: me, inSync: false)), sentAtMilliseconds: 1_000, nowMilliseconds: 1_001)
                == [.acknowledgeAlone(true)])
        #expect(node.acknowledgesAlone)
    }

    @Test func syncPrimary_aHeartbeatAnswerAlone_neverStartsAcknowledgingAlone() {
        var node = coordinator(as: .primary, now: 0)
        let beat = WitnessRequest.heartbeat(WitnessHeartbeat(node: me, epoch: Epoch(2), mode: .sync, leaseMilliseconds: 500,
                                                             lastWrittenLSN: .zero, standbyDurableLSN: nil, standbyLagBytes: nil))
        _ = node.witnessAnswered(beat, reply: .state(record(epoch: 2, primary: me, inSync: false)), sentAtMilliseconds: 0, nowMilliseconds: 1)
        #expect(!node.acknowledgesAlone, "only the answer to this node's own SYNC 0 may")
    }

    @Test func syncPrimary_waitsForTheStandbyAgain_beforeTellingTheWitness() {
        var node = coordinator(as: .primary, now: 0, inSync: false)
        #expect(node.acknowledgesAlone)
        node.standbyHeard(nowMilliseconds: 100)
        var caughtUp = facts
        caughtUp.standbyHoldsEveryReleasedWrite = true
        let actions = node.tick(nowMilliseconds: 150, facts: caughtUp)
        guard actions.count >= 2, actions[actions.count - 2] == .acknowledgeAlone(false),
              case .askWitness(let request) = actions[actions.count - 1], case .standbySync(_, _, true, _) = request else {
            Issue.record("expected acknowledgeAlone(false) then SYNC 1, got \(actions)"); return
        }
        #expect(!node.acknowledgesAlone)
        // The witness is unreachable: the request may or may not have been recorded, so keep
        // waiting for the standby (the safe side) and ask again.
        #expect(node.witnessUnreachable(request) == [])
        #expect(!node.acknowledgesAlone)
        let retry = node.tick(nowMilliseconds: 250, facts: caughtUp)
        #expect(retry.contains { if case .askWitness(.standbySync(_, _, true, _)) = $0 { true } else { false } })
    }

    @Test func settings_rejectALeaseShorterThanTheHeartbeat() {
        #expect(CoordinationSettings(mode: .sync, heartbeatIntervalMilliseconds: 500, leaseMilliseconds: 400).problem != nil)
        #expect(CoordinationSettings(mode: .sync, failureTimeoutMilliseconds: 300, leaseMilliseconds: 500).problem != nil)
        #expect(CoordinationSettings(mode: .sync).problem == nil)
    }
}
