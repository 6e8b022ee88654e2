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
        guard case .abandon = asked.witnessAnswered(.denied("no")), case .abandon = asked.witnessAnswered(nil) else {
            Issue.record("a refusal or no answer abandons it"); return
        }
        #expect(handover().witnessAnswered(.denied("no")) == .wait, "an answer to a request never sent changes nothing")
    }

    @Test func refusal_namesTheFirstReason() {
        #expect(Handover.refusal(running: false, coordinated: true, isPrimary: true, standbyAttached: true, logFailed: false) == nil)
        #expect(Handover.refusal(running: true, coordinated: false, isPrimary: false, standbyAttached: false, logFailed: true)?
            .contains("already in progress") == true)
        #expect(Handover.refusal(running: false, coordinated: true, isPrimary: true, standbyAttached: false, logFailed: false)?
            .contains("no standby") == true)
    }
}
