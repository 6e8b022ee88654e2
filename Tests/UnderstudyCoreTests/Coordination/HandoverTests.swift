import Testing
@testable import UnderstudyCore

@Suite struct HandoverTests {
    let standby = "127.0.0.1:7002"

    private func facts(written: UInt64 = 10, standbyDurable: UInt64? = 10, visible: UInt64 = 10, attached: Bool = true,
                       primary: Bool = true) -> Handover.Facts {
        Handover.Facts(isPrimary: primary, standby: attached ? standby : nil, lastAppendedLSN: LSN(10), lastWrittenLSN: LSN(written),
                       standbyDurableLSN: standbyDurable.map { LSN($0) }, visibleLSN: LSN(visible), lagRecords: 3)
    }

    private func handover() -> Handover {
        Handover(node: "127.0.0.1:7001", epoch: Epoch(2), nowMilliseconds: 0, timeoutMilliseconds: 1_000, leaving: false)
    }

    @Test func asksTheWitness_onlyOnceTheStandbyHasEveryRecord_andEveryReplyIsOut() {
        var machine = handover()
        #expect(machine.progress(nowMilliseconds: 1, facts: facts(written: 9)) == .wait, "not yet written")
        #expect(machine.progress(nowMilliseconds: 1, facts: facts(standbyDurable: 9)) == .wait, "the standby lacks a record")
        #expect(machine.progress(nowMilliseconds: 1, facts: facts(visible: 9)) == .wait, "a reply is still held")
        #expect(machine.progress(nowMilliseconds: 2, facts: facts())
                == .askWitness(.handover(node: "127.0.0.1:7001", epoch: Epoch(2), to: standby, leaving: false, lastLSN: LSN(10))))
        #expect(machine.progress(nowMilliseconds: 3, facts: facts()) == .wait, "asked once")
        #expect(machine.stage == .askingWitness)
    }

    @Test func abandons_atItsDeadline_whenTheStandbyDetaches_andWhenTheWitnessSaysNo() {
        var late = handover()
        guard case .abandon = late.progress(nowMilliseconds: 1_000, facts: facts(standbyDurable: 1)) else {
            Issue.record("a switchover past its deadline is abandoned"); return
        }
        var detached = handover()
        guard case .abandon = detached.progress(nowMilliseconds: 1, facts: facts(attached: false)) else {
            Issue.record("no standby, no switchover"); return
        }
        var asked = handover()
        _ = asked.progress(nowMilliseconds: 1, facts: facts())
        guard case .abandon = asked.witnessAnswered(.denied("no")) else {
            Issue.record("a refusal (the witness recorded nothing) abandons it"); return
        }
        var never = handover()
        #expect(never.witnessAnswered(.denied("no")) == .wait, "an answer to a request never sent changes nothing")
    }

    /// Finding A of the simulator (`--switchover`, sync seed 74): the witness recorded the
    /// hand-over but its answer was lost; abandoning then let the old primary acknowledge in
    /// a superseded epoch. Once sent, HANDOVER is asked again, never abandoned for silence.
    @Test func unansweredHandover_isAskedAgain_neverAbandoned_andPastItsDeadlineIsUnknown() {
        var machine = handover()
        guard case .askWitness(let request) = machine.progress(nowMilliseconds: 1, facts: facts()) else {
            Issue.record("not asked"); return
        }
        #expect(machine.witnessAnswered(nil) == .wait)
        #expect(machine.progress(nowMilliseconds: 2, facts: facts()) == .askWitness(request), "asked again at the next progress")
        #expect(machine.progress(nowMilliseconds: 3, facts: facts()) == .wait, "once per unanswered request")
        #expect(machine.witnessAnswered(.staleEpoch(Epoch(3), primary: standby)) == .wait,
                "a repeat answered with the new epoch: the coordinator's step-down ends it, not an abandon")
        guard case .outcomeUnknown = machine.progress(nowMilliseconds: 1_000, facts: facts()) else {
            Issue.record("past the deadline the operator hears the outcome is unknown"); return
        }
        #expect(machine.progress(nowMilliseconds: 1_001, facts: facts()) == .wait, "reported once; still holding")
        #expect(machine.stage == .askingWitness)
    }

    @Test func handoverThatNeverReachedTheWitness_isAbandoned_butNotOnceOneMayHave() {
        var unreachable = handover()
        _ = unreachable.progress(nowMilliseconds: 1, facts: facts())
        guard case .abandon = unreachable.witnessAnswered(nil, mayHaveArrived: false) else {
            Issue.record("no connection to the witness: nothing was recorded, so the switchover is abandoned"); return
        }
        var retried = handover()
        _ = retried.progress(nowMilliseconds: 1, facts: facts())
        #expect(retried.witnessAnswered(nil) == .wait, "a timeout: it may have arrived")
        _ = retried.progress(nowMilliseconds: 2, facts: facts())
        #expect(retried.witnessAnswered(nil, mayHaveArrived: false) == .wait,
                "the first request may have arrived: a second that did not settles nothing")
    }

    @Test func refusal_namesTheFirstReason() {
        #expect(Handover.refusal(running: false, coordinated: true, isPrimary: true, standbyAttached: true, logFailed: false) == nil)
        #expect(Handover.refusal(running: true, coordinated: false, isPrimary: false, standbyAttached: false, logFailed: true)?
            .contains("already in progress") == true)
        #expect(Handover.refusal(running: false, coordinated: true, isPrimary: true, standbyAttached: false, logFailed: false)?
            .contains("no standby") == true)
    }
}
