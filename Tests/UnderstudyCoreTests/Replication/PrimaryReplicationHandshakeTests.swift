import Testing
@testable import UnderstudyCore

@Suite struct PrimaryReplicationHandshakeTests {
    private func handshake(epoch: UInt64 = 1, lastLSN: UInt64, checksum: UInt32? = nil,
                           history standbyHistory: EpochHistory = EpochHistory()) -> StandbyHandshake {
        StandbyHandshake(standbyAddress: "127.0.0.1:7001", epoch: Epoch(epoch), lastLSN: LSN(lastLSN),
                         lastRecordChecksum: lastLSN == 0 ? nil : (checksum ?? FakePrimaryLog.checksum(LSN(lastLSN))),
                         history: standbyHistory)
    }

    @Test func onHandshake_standbyAtLSNZero_streamsFromOne() {
        var primary = makePrimary(mode: .sync, written: 50)
        let decision = primary.standbyHandshake(handshake(lastLSN: 0), facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        #expect(decision == .stream(from: LSN(1)))
        #expect(primary.standbyAddress == "127.0.0.1:7001")
    }

    @Test func onHandshake_matchingLastRecord_streamsFromTheNext() {
        var primary = makePrimary(mode: .sync, written: 50)
        let decision = primary.standbyHandshake(handshake(lastLSN: 30), facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        #expect(decision == .stream(from: LSN(31)))
    }

    @Test func onHandshake_caughtUpStandby_streamsFromAfterTheEnd() {
        var primary = makePrimary(mode: .sync, written: 50)
        let decision = primary.standbyHandshake(handshake(lastLSN: 50), facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        #expect(decision == .stream(from: LSN(51)))
    }

    @Test func onHandshake_lastRecordChecksumDiffers_isDiverged() {
        var primary = makePrimary(mode: .sync, written: 50)
        let decision = primary.standbyHandshake(handshake(lastLSN: 30, checksum: 12345),
                                                facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        guard case .refuseDiverged(let reason) = decision else { Issue.record("\(decision)"); return }
        #expect(reason.contains("record 30 differs"))
        #expect(primary.standbyAddress == nil)
    }

    @Test func onHandshake_standbyAhead_isDiverged() {
        var primary = makePrimary(mode: .sync, written: 50)
        let decision = primary.standbyHandshake(handshake(lastLSN: 51), facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        guard case .refuseDiverged(let reason) = decision else { Issue.record("\(decision)"); return }
        #expect(reason.contains("ahead"))
    }

    @Test func onHandshake_historyPartsBeforeStandbysLastLSN_isDiverged() {
        var primary = PrimaryReplication(mode: .sync, epoch: Epoch(3), history: history((1, 1), (3, 41)), maxWaitingRecords: 10,
                                         syncTimeoutMilliseconds: 1000, windowBytes: 1000)
        for lsn in 1...50 { _ = primary.recordWritten(LSN(UInt64(lsn)), bytes: 10, nowMilliseconds: 0) }
        // The standby was primary of epoch 2 from LSN 41 and wrote 41...45 that we never had.
        let decision = primary.standbyHandshake(handshake(epoch: 2, lastLSN: 45, history: history((1, 1), (2, 41))),
                                                facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        guard case .refuseDiverged(let reason) = decision else { Issue.record("\(decision)"); return }
        #expect(reason.contains("after LSN 40"))
    }

    @Test func onHandshake_historyPartsAfterStandbysLastLSN_streams() {
        var primary = PrimaryReplication(mode: .sync, epoch: Epoch(3), history: history((1, 1), (3, 41)), maxWaitingRecords: 10,
                                         syncTimeoutMilliseconds: 1000, windowBytes: 1000)
        for lsn in 1...50 { _ = primary.recordWritten(LSN(UInt64(lsn)), bytes: 10, nowMilliseconds: 0) }
        // The standby began epoch 2 at 41 but wrote nothing in it: nothing to cut.
        let decision = primary.standbyHandshake(handshake(epoch: 2, lastLSN: 40, history: history((1, 1), (2, 41))),
                                                facts: FakePrimaryLog(lastWrittenLSN: LSN(50)).facts)
        #expect(decision == .stream(from: LSN(41)))
    }

    @Test func onHandshake_standbyFromHigherEpoch_stepsDown() {
        var primary = makePrimary(mode: .sync, written: 5)
        let decision = primary.standbyHandshake(handshake(epoch: 2, lastLSN: 5), facts: FakePrimaryLog(lastWrittenLSN: LSN(5)).facts)
        #expect(decision == .stepDown(seenEpoch: Epoch(2)))
        #expect(primary.receivedHigherEpoch(Epoch(2)).first == .stepDown(Epoch(2)))
    }

    @Test func onHandshake_neededWALPruned_sendsTheSnapshot() {
        var primary = makePrimary(mode: .sync, written: 500)
        var log = FakePrimaryLog(lastWrittenLSN: LSN(500))
        log.oldestRetainedLSN = LSN(301)
        log.newestSnapshotLSN = LSN(350)
        #expect(primary.standbyHandshake(handshake(lastLSN: 100), facts: log.facts) == .sendSnapshot(lsn: LSN(350)))
        // Frames follow from the snapshot on, once the snapshot is sent.
        #expect(primary.readyToStream() == [.sendRecords(from: LSN(351), maxBytes: 1000)])
    }

    @Test func onHandshake_lastRecordNotRetainedButNextIs_sendsTheSnapshot() {
        var primary = makePrimary(mode: .sync, written: 500)
        var log = FakePrimaryLog(lastWrittenLSN: LSN(500))
        log.oldestRetainedLSN = LSN(301)
        log.newestSnapshotLSN = LSN(320)
        // 301 is retained, but record 300 cannot be compared.
        #expect(primary.standbyHandshake(handshake(lastLSN: 300), facts: log.facts) == .sendSnapshot(lsn: LSN(320)))
    }

    @Test func onHandshake_noChecksumAfterSnapshotInstall_streamsOnTheHistory() {
        var primary = makePrimary(mode: .sync, written: 500)
        var log = FakePrimaryLog(lastWrittenLSN: LSN(500))
        log.oldestRetainedLSN = LSN(301)
        var fromSnapshot = handshake(lastLSN: 350)
        fromSnapshot.lastRecordChecksum = nil
        #expect(primary.standbyHandshake(fromSnapshot, facts: log.facts) == .stream(from: LSN(351)))
    }

    @Test func onHandshake_neededWALPrunedAndNoUsableSnapshot_isRefusedAsUnavailable() {
        var primary = makePrimary(mode: .sync, written: 500)
        var log = FakePrimaryLog(lastWrittenLSN: LSN(500))
        log.oldestRetainedLSN = LSN(301)
        guard case .refuseUnavailable = primary.standbyHandshake(handshake(lastLSN: 100), facts: log.facts) else {
            Issue.record("no snapshot: expected unavailable"); return
        }
        log.newestSnapshotLSN = LSN(200) // the WAL after it is gone too
        guard case .refuseUnavailable = primary.standbyHandshake(handshake(lastLSN: 100), facts: log.facts) else {
            Issue.record("stale snapshot: expected unavailable"); return
        }
    }

    @Test func onHandshake_standbyCountsOnlyFromItsFirstAcknowledgement() {
        var primary = makePrimary(mode: .sync, written: 50)
        let actions = attachStandby(&primary, lastLSN: 50)
        #expect(releases(actions).isEmpty)
        #expect(primary.commitLSN == .zero)
        #expect(releases(primary.standbyAcknowledged(durableLSN: LSN(50), epoch: Epoch(1), nowMilliseconds: 1)) == [LSN(50)])
    }

    @Test func onHandshake_secondStandby_replacesTheFirst() {
        var primary = makePrimary(mode: .async, written: 10)
        attachStandby(&primary, lastLSN: 0)
        attachStandby(&primary, lastLSN: 10)
        #expect(primary.bytesInFlight == 0)
        #expect(primary.lag(nowMilliseconds: 0).state == .catchingUp)
    }
}
