import Testing
@testable import UnderstudyCore

@Suite struct WitnessTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]

    private func witness(_ record: WitnessRecord? = nil, now: Int64 = 0) -> Witness {
        Witness(nodes: nodes, record: record, nowMilliseconds: now)
    }

    private func record(epoch: UInt64 = 1, primary: Int = 0, inSync: Bool = true, mode: ReplicationMode = .sync) -> WitnessRecord {
        WitnessRecord(epoch: Epoch(epoch), primary: nodes[primary], standby: nodes[1 - primary], standbyInSync: inSync,
                      mode: mode, leaseMilliseconds: 500)
    }

    private func beat(_ node: Int = 0, epoch: UInt64 = 1, mode: ReplicationMode = .sync, lag: Int64? = 0,
                      written: UInt64 = 10) -> WitnessRequest {
        .heartbeat(WitnessHeartbeat(node: nodes[node], epoch: Epoch(epoch), mode: mode, leaseMilliseconds: 500,
                                    lastWrittenLSN: LSN(written), standbyDurableLSN: LSN(written), standbyLagBytes: lag))
    }

    @Test func newCluster_theNodeHintedPrimaryIsChosen_andPersisted() {
        var witness = witness()
        let response = witness.handle(.hello(node: nodes[1], hint: .primary, epoch: Epoch(1), lastLSN: .zero), nowMilliseconds: 0)
        #expect(response.persist?.primary == nodes[1])
        #expect(response.reply == .state(response.persist!))
        #expect(witness.record?.standby == nodes[0])
    }

    @Test func newCluster_withoutHint_waitsForBoth_thenPicksTheLongestLog() {
        var witness = witness()
        let first = witness.handle(.hello(node: nodes[0], hint: .standby, epoch: Epoch(1), lastLSN: LSN(5)), nowMilliseconds: 0)
        guard case .denied = first.reply else { Issue.record("expected a denial, got \(first.reply)"); return }
        #expect(first.persist == nil)
        let second = witness.handle(.hello(node: nodes[1], hint: nil, epoch: Epoch(1), lastLSN: LSN(9)), nowMilliseconds: 1)
        #expect(second.persist?.primary == nodes[1])
    }

    @Test func existingRecord_helloAnswersIt_andChangesNothing() {
        var witness = witness(record(primary: 1))
        let response = witness.handle(.hello(node: nodes[0], hint: .primary, epoch: Epoch(1), lastLSN: LSN(99)), nowMilliseconds: 0)
        #expect(response == Witness.Response(reply: .state(record(primary: 1)), persist: nil))
    }

    @Test func unknownNode_isDenied() {
        var witness = witness(record())
        let response = witness.handle(.hello(node: "10.0.0.9:1", hint: nil, epoch: Epoch(1), lastLSN: .zero), nowMilliseconds: 0)
        guard case .denied = response.reply else { Issue.record("expected a denial, got \(response.reply)"); return }
        #expect(response.persist == nil)
    }

    @Test func unspecifiedHost_matchesTheListedNodeWithItsPort() {
        let witness = witness(record())
        #expect(witness.member("0.0.0.0:7002") == nodes[1])
        #expect(witness.member("10.1.1.1:7002") == nil)
    }

    @Test func heartbeat_makesAPromise_thatBlocksVotesUntilLeasePlusDrift() {
        var witness = witness(record(), now: 0)
        _ = witness.handle(beat(), nowMilliseconds: 1_000)
        let drift = CoordinationSettings.defaultDriftMargin(leaseMilliseconds: 500)
        let vote = WitnessRequest.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 0)
        guard case .denied = witness.handle(vote, nowMilliseconds: 1_000 + 500 + drift - 1).reply else {
            Issue.record("a vote inside the promise must be denied"); return
        }
        let granted = witness.handle(vote, nowMilliseconds: 1_000 + 500 + drift)
        #expect(granted.persist?.epoch == Epoch(2))
        #expect(granted.persist?.primary == nodes[1])
        #expect(granted.persist?.standbyInSync == false)
    }

    @Test func restartedWitness_assumesItsLastPromiseStillRuns() {
        var witness = witness(record(), now: 10_000)
        let vote = WitnessRequest.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 0)
        guard case .denied = witness.handle(vote, nowMilliseconds: 10_100).reply else {
            Issue.record("a restarted witness must honour a promise it may have made"); return
        }
    }

    @Test func syncMode_aStandbyNotInSync_isNeverPromoted() {
        var witness = witness(record(inSync: false), now: 0)
        let response = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(1_000), maxLagBytes: 1 << 30), nowMilliseconds: 60_000)
        guard case .denied = response.reply else { Issue.record("expected a denial, got \(response.reply)"); return }
        #expect(response.persist == nil)
    }

    @Test func asyncMode_eligibilityIsTheLagAtTheLastReport() {
        var witness = witness(record(mode: .async), now: 0)
        _ = witness.handle(beat(mode: .async, lag: 5_000, written: 100), nowMilliseconds: 0)
        let tooFar = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(50), maxLagBytes: 4_999), nowMilliseconds: 10_000)
        guard case .denied = tooFar.reply else { Issue.record("a standby lagging past the bound must be denied"); return }
        let caughtUp = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(100), maxLagBytes: 0), nowMilliseconds: 10_000)
        #expect(caughtUp.persist?.epoch == Epoch(2))
    }

    @Test func asyncMode_noReportSinceStart_deniesTheVote() {
        var witness = witness(record(mode: .async), now: 0)
        let response = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(50), maxLagBytes: 1 << 30), nowMilliseconds: 60_000)
        guard case .denied = response.reply else { Issue.record("expected a denial"); return }
    }

    @Test func epochs_areNeverGrantedTwice() {
        var witness = witness(record(), now: 0)
        let first = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 0), nowMilliseconds: 5_000)
        #expect(first.persist?.epoch == Epoch(2))
        // The same vote again (its answer was lost): the same answer, nothing new persisted.
        let again = witness.handle(.vote(node: nodes[1], epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 0), nowMilliseconds: 5_001)
        #expect(again == Witness.Response(reply: first.reply, persist: nil))
        // The other node asking for the same epoch learns who has it.
        let other = witness.handle(.vote(node: nodes[0], epoch: Epoch(2), durableLSN: LSN(10), maxLagBytes: 0), nowMilliseconds: 5_002)
        #expect(other.reply == .staleEpoch(Epoch(2), primary: nodes[1]))
    }

    @Test func staleHeartbeat_isToldTheNewEpoch() {
        var witness = witness(record(epoch: 3, primary: 1))
        #expect(witness.handle(beat(0, epoch: 2), nowMilliseconds: 0).reply == .staleEpoch(Epoch(3), primary: nodes[1]))
    }

    @Test func heartbeat_fromANonPrimaryOfTheSameEpoch_makesNoPromise() {
        var witness = witness(record(), now: 0)
        guard case .denied = witness.handle(beat(1), nowMilliseconds: 0).reply else { Issue.record("expected a denial"); return }
        #expect(witness.promisedUntilMilliseconds <= 0 + 500 + CoordinationSettings.defaultDriftMargin(leaseMilliseconds: 500))
    }

    @Test func syncState_onlyTheCurrentPrimaryChangesIt_andItIsPersisted() {
        var witness = witness(record())
        let change = witness.handle(.standbySync(node: nodes[0], epoch: Epoch(1), inSync: false, sequence: 5), nowMilliseconds: 0)
        #expect(change.persist?.standbyInSync == false)
        let refused = witness.handle(.standbySync(node: nodes[1], epoch: Epoch(1), inSync: true, sequence: 6), nowMilliseconds: 0)
        #expect(refused.persist == nil)
        #expect(witness.record?.standbyInSync == false)
        // A late request (lower sequence) from the primary changes nothing.
        let late = witness.handle(.standbySync(node: nodes[0], epoch: Epoch(1), inSync: true, sequence: 4), nowMilliseconds: 0)
        #expect(late.persist == nil)
        #expect(witness.record?.standbyInSync == false)
    }

    @Test func restartedPrimary_getsTheNextEpoch_onlyOnceThePromiseRunsOut_withItsStandbysSyncState() {
        var witness = witness(record(inSync: true), now: 0)
        // Issue 9, item 8: a restarted primary (or a clone with its address) waits out the lease this witness backed.
        let early = witness.handle(.vote(node: nodes[0], epoch: Epoch(2), durableLSN: LSN(3), maxLagBytes: 0), nowMilliseconds: 1)
        guard case .denied = early.reply else { Issue.record("expected a denial, got \(early.reply)"); return }
        let response = witness.handle(.vote(node: nodes[0], epoch: Epoch(2), durableLSN: LSN(3), maxLagBytes: 0), nowMilliseconds: 700)
        #expect(response.persist == record(epoch: 2, primary: 0, inSync: true))
    }

    @Test func record_textRoundTrips_andRejectsGarbage() throws {
        let original = record(epoch: 7, primary: 1, inSync: false, mode: .async)
        #expect(try WitnessRecord(text: original.text) == original)
        #expect(throws: ReplicationError.self) { try WitnessRecord(text: "0 a b 1 sync 5") }
        #expect(throws: ReplicationError.self) { try WitnessRecord(text: "1 a b 2 sync 5") }
        #expect(throws: ReplicationError.self) { try WitnessRecord(text: "1 a b 1 fast 5") }
        #expect(throws: ReplicationError.self) { try WitnessRecord(text: "1 a b 1 sync") }
    }

    @Test func requests_roundTripThroughTheirArguments() throws {
        let requests: [WitnessRequest] = [
            .hello(node: nodes[0], hint: .primary, epoch: Epoch(3), lastLSN: LSN(9)),
            .hello(node: nodes[1], hint: nil, epoch: Epoch(1), lastLSN: .zero),
            beat(), .heartbeat(WitnessHeartbeat(node: nodes[0], epoch: Epoch(2), mode: .async, leaseMilliseconds: 1,
                                                lastWrittenLSN: .zero, standbyDurableLSN: nil, standbyLagBytes: nil)),
            .vote(node: nodes[1], epoch: Epoch(4), durableLSN: LSN(8), maxLagBytes: 1 << 20),
            .standbySync(node: nodes[0], epoch: Epoch(2), inSync: true, sequence: 9), .status,
        ]
        for request in requests {
            #expect(try WitnessRequest(arguments: request.arguments) == request)
        }
        for bad in [["WITNESS"], ["WITNESS", "VOTE", "a:1", "x", "1", "1"], ["WITNESS", "HELLO", "a:1", "leader", "1", "1"],
                    ["WITNESS", "SYNC", "a:1", "1", "2", "3"], ["WITNESS", "NOPE"], ["WITNESS", "VOTE", "-", "1", "1", "1"]] {
            #expect(throws: ReplicationError.self) { try WitnessRequest(arguments: bad.map { Array($0.utf8) }) }
        }
    }

    /// Found by fuzz/FuzzWitnessMessage: a node name of non-UTF-8 bytes was accepted, turned
    /// into U+FFFD by the String, and the request written back no longer parsed.
    @Test func nodeName_outsidePrintableASCII_isRejected() throws {
        for node: [UInt8] in [[0x30, 0xFF, 0x3A, 0x31], Array("a:1\u{7F}".utf8), [0x61, 0x09, 0x3A, 0x31], Array("é:1".utf8)] {
            let arguments = [Array("WITNESS".utf8), Array("FORCE".utf8), node, Array("5".utf8)]
            #expect(throws: ReplicationError.self) { try WitnessRequest(arguments: arguments) }
        }
        #expect(try WitnessRequest(arguments: ["WITNESS", "FORCE", "[::1]:7001", "5"].map { Array($0.utf8) })
            == .force(node: "[::1]:7001", epoch: Epoch(5)))
    }

    @Test func replies_roundTripThroughTheirLines() throws {
        for reply: WitnessReply in [.state(record()), .staleEpoch(Epoch(4), primary: nil), .denied("not now")] {
            let line = reply.line
            #expect(try WitnessReply(line: line.text, isError: line.isError) == reply)
        }
        #expect(throws: ReplicationError.self) { try WitnessReply(line: "STATE 1 2", isError: false) }
        #expect(throws: ReplicationError.self) { try WitnessReply(line: "OK", isError: false) }
    }
}
