import Testing
@testable import UnderstudyCore

@Suite struct StandbyReplicationTests {
    /// A standby at `lastLSN` in `epoch` (history `[(1,1)]` plus `epoch` from LSN 1 if
    /// higher), streaming from a primary in `primaryEpoch`.
    private func streamingStandby(lastLSN: UInt64 = 10, history standbyHistory: EpochHistory = EpochHistory(),
                                  primaryEpoch: UInt64? = nil) -> StandbyReplication {
        var standby = StandbyReplication(epoch: standbyHistory.currentEpoch, history: standbyHistory, lastLSN: LSN(lastLSN),
                                         lastRecordChecksum: lastLSN == 0 ? nil : FakePrimaryLog.checksum(LSN(lastLSN)))
        _ = standby.handshake(address: "127.0.0.1:7001")
        let accepted = standby.streamAccepted(epoch: Epoch(primaryEpoch ?? standbyHistory.currentEpoch.rawValue), from: LSN(lastLSN + 1))
        #expect(accepted == .acknowledge(durable: LSN(lastLSN), epoch: standbyHistory.currentEpoch))
        _ = standby.acknowledgementSent()
        return standby
    }

    @Test func handshake_describesTheLocalLog() {
        var standby = StandbyReplication(epoch: Epoch(3), history: history((1, 1), (3, 5)), lastLSN: LSN(9), lastRecordChecksum: 77)
        #expect(standby.handshake(address: "h:1") == StandbyHandshake(standbyAddress: "h:1", epoch: Epoch(3), lastLSN: LSN(9),
                                                                      lastRecordChecksum: 77, history: history((1, 1), (3, 5))))
    }

    @Test func onRecords_contiguous_areAppended() {
        var standby = streamingStandby()
        #expect(standby.receivedRecords([header(11), header(12), header(13)]) == [.append(range: 0..<3)])
        #expect(standby.lastLSN == LSN(13))
        #expect(standby.lastRecordChecksum == FakePrimaryLog.checksum(LSN(13)))
    }

    @Test func onRecords_duplicates_areSkipped() {
        var standby = streamingStandby()
        #expect(standby.receivedRecords([header(9), header(10), header(11)]) == [.append(range: 2..<3)])
        #expect(standby.receivedRecords([header(10), header(11)]) == [])
        #expect(standby.lastLSN == LSN(11))
    }

    @Test func onRecords_duplicateOfOurLastRecordWithAnotherChecksum_isRefused() {
        var standby = streamingStandby()
        let decisions = standby.receivedRecords([header(10, checksum: 1), header(11)])
        guard case .refuse(let reason) = decisions.first, decisions.count == 1 else { Issue.record("\(decisions)"); return }
        #expect(reason.contains("record 10 differs"))
        #expect(standby.lastLSN == LSN(10))
    }

    @Test func onRecords_withAGap_areRefusedWhole() {
        var standby = streamingStandby()
        let decisions = standby.receivedRecords([header(11), header(13)])
        #expect(decisions == [.refuse(reason: "gap: expected LSN 12, received 13")])
        #expect(standby.lastLSN == LSN(10))
        // The stream is over: later frames are refused until a new handshake.
        guard case .refuse = standby.receivedRecords([header(11)]).first else { Issue.record("stream still open"); return }
    }

    @Test func onRecords_reordered_areRefused() {
        var standby = streamingStandby()
        #expect(standby.receivedRecords([header(12), header(11)]) == [.refuse(reason: "gap: expected LSN 11, received 12")])
        var other = streamingStandby()
        #expect(other.receivedRecords([header(11), header(12), header(11)])
            == [.refuse(reason: "out of order: expected LSN 13, received 11")])
    }

    @Test func onRecords_fromLowerEpoch_areRefused() {
        var standby = streamingStandby(history: history((1, 1), (2, 5)), primaryEpoch: 3)
        let decisions = standby.receivedRecords([header(11, epoch: 1)])
        guard case .refuse(let reason) = decisions.first else { Issue.record("\(decisions)"); return }
        #expect(reason.contains("lower than this node's epoch 2"))
        #expect(standby.lastLSN == LSN(10))
    }

    @Test func onRecords_fromHigherEpoch_adoptTheEpochBeforeAppending() {
        var standby = streamingStandby(primaryEpoch: 3)
        let decisions = standby.receivedRecords([header(11), header(12, epoch: 3), header(13, epoch: 3)])
        #expect(decisions == [.append(range: 0..<1), .adoptEpoch(Epoch(3), at: LSN(12)), .append(range: 1..<3)])
        #expect(standby.history == history((1, 1), (3, 12)))
        #expect(standby.epoch == Epoch(3))
    }

    @Test func onRecords_fromEpochBeyondThePrimarys_areRefused() {
        var standby = streamingStandby(primaryEpoch: 2)
        guard case .refuse = standby.receivedRecords([header(11, epoch: 3)]).first else { Issue.record("accepted"); return }
    }

    @Test func onRecords_conflictingWithTheEpochHistory_areRefused() {
        // This node began epoch 3 at LSN 15 but only holds up to 10 (its tail was lost).
        var standby = StandbyReplication(epoch: Epoch(3), history: history((1, 1), (3, 15)), lastLSN: LSN(10),
                                         lastRecordChecksum: FakePrimaryLog.checksum(LSN(10)))
        _ = standby.handshake(address: "h:1")
        _ = standby.streamAccepted(epoch: Epoch(4), from: LSN(11))
        let decisions = standby.receivedRecords([header(11, epoch: 4)])
        guard case .refuse(let reason) = decisions.first else { Issue.record("\(decisions)"); return }
        #expect(reason.contains("conflicts with the epoch history"))
    }

    @Test func onRecords_duplicateFromAnotherEpochThanOurs_isRefused() {
        var standby = streamingStandby(history: history((1, 1), (2, 5)))
        guard case .refuse = standby.receivedRecords([header(6, epoch: 1)]).first else { Issue.record("accepted"); return }
    }

    @Test func onRecords_beforeTheStreamIsAccepted_areRefused() {
        var standby = StandbyReplication(epoch: Epoch(1), history: EpochHistory(), lastLSN: .zero, lastRecordChecksum: nil)
        guard case .refuse = standby.receivedRecords([header(1)]).first else { Issue.record("accepted"); return }
    }

    @Test func onStreamAccepted_primaryFromLowerEpoch_orWrongStart_disconnects() {
        var standby = StandbyReplication(epoch: Epoch(2), history: history((1, 1), (2, 3)), lastLSN: LSN(5), lastRecordChecksum: 1)
        _ = standby.handshake(address: "h:1")
        guard case .disconnect = standby.streamAccepted(epoch: Epoch(1), from: LSN(6)) else { Issue.record("lower epoch"); return }
        guard case .disconnect = standby.streamAccepted(epoch: Epoch(2), from: LSN(7)) else { Issue.record("wrong start"); return }
        #expect(standby.streamAccepted(epoch: Epoch(2), from: LSN(6)) == .acknowledge(durable: LSN(5), epoch: Epoch(2)))
    }

    @Test func onHeartbeat_fromLowerEpoch_disconnects() {
        var standby = streamingStandby(primaryEpoch: 2)
        guard case .disconnect = standby.primaryHeartbeat(epoch: Epoch(1), lastWrittenLSN: LSN(10), primaryTimeMilliseconds: 0,
                                                          nowMilliseconds: 0) else { Issue.record("accepted"); return }
    }

    @Test func onLocalDurable_acknowledgementsAreCoalesced_oneAtATime() {
        var standby = streamingStandby()
        _ = standby.receivedRecords((11...20).map { header(UInt64($0)) })
        #expect(standby.localDurable(LSN(12)) == .acknowledge(durable: LSN(12), epoch: Epoch(1)))
        #expect(standby.localDurable(LSN(15)) == nil)
        #expect(standby.localDurable(LSN(18)) == nil)
        #expect(standby.acknowledgementSent() == .acknowledge(durable: LSN(18), epoch: Epoch(1)))
        #expect(standby.acknowledgementSent() == nil)
        #expect(standby.localDurable(LSN(18)) == nil)
        #expect(standby.localDurable(LSN(20)) == .acknowledge(durable: LSN(20), epoch: Epoch(1)))
    }

    @Test func onSnapshotInstalled_adoptsThePrimarysHistoryAndPosition() throws {
        var standby = StandbyReplication(epoch: Epoch(1), history: EpochHistory(), lastLSN: LSN(40), lastRecordChecksum: 5)
        _ = standby.handshake(address: "h:1") // answered with +SNAPSHOT 3 350 …
        try standby.snapshotInstalled(lsn: LSN(350), epoch: Epoch(2), history: history((1, 1), (2, 100), (3, 400)))
        #expect(standby.history == history((1, 1), (2, 100)))
        #expect(standby.lastLSN == LSN(350) && standby.durableLSN == LSN(350) && standby.lastRecordChecksum == nil)
        #expect(standby.streamAccepted(epoch: Epoch(3), from: LSN(351)) == .acknowledge(durable: LSN(350), epoch: Epoch(2)))
        #expect(standby.receivedRecords([header(351, epoch: 2)]) == [.append(range: 0..<1)])
        // Once a record follows the snapshot, the handshake compares it again.
        #expect(standby.handshake(address: "h:1").lastRecordChecksum == FakePrimaryLog.checksum(LSN(351)))
    }

    @Test func onSnapshotInstalled_historyThatDisagreesWithTheSnapshotEpoch_throws() {
        var standby = StandbyReplication(epoch: Epoch(1), history: EpochHistory(), lastLSN: LSN(40), lastRecordChecksum: 5)
        #expect(throws: ReplicationError.self) {
            try standby.snapshotInstalled(lsn: LSN(350), epoch: Epoch(3), history: history((1, 1), (2, 100)))
        }
        #expect(standby.lastLSN == LSN(40))
    }

    @Test func lag_fromHeartbeats_onTheStandbysOwnClock() {
        var standby = streamingStandby()
        #expect(standby.lag(nowMilliseconds: 0).state == .catchingUp)
        _ = standby.primaryHeartbeat(epoch: Epoch(1), lastWrittenLSN: LSN(15), primaryTimeMilliseconds: 9_999, nowMilliseconds: 100)
        _ = standby.primaryHeartbeat(epoch: Epoch(1), lastWrittenLSN: LSN(20), primaryTimeMilliseconds: 9_999, nowMilliseconds: 200)
        #expect(standby.lag(nowMilliseconds: 250)
            == ReplicationLag(lsns: 10, bytes: 0, milliseconds: 150, standbyDurableLSN: LSN(10), state: .catchingUp))
        _ = standby.receivedRecords((11...20).map { header(UInt64($0)) })
        _ = standby.localDurable(LSN(15))
        #expect(standby.lag(nowMilliseconds: 250).milliseconds == 50)
        _ = standby.localDurable(LSN(20))
        #expect(standby.lag(nowMilliseconds: 300)
            == ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: LSN(20), state: .streaming))
    }

    @Test func lag_samplesAreBounded() {
        var standby = streamingStandby()
        for step in 1...1000 {
            _ = standby.primaryHeartbeat(epoch: Epoch(1), lastWrittenLSN: LSN(10 + UInt64(step)), primaryTimeMilliseconds: 0,
                                         nowMilliseconds: Int64(step))
        }
        #expect(standby.lagSampleCount == StandbyReplication.maxLagSamples)
        #expect(standby.lag(nowMilliseconds: 1000).milliseconds == 999)
        #expect(standby.lag(nowMilliseconds: 1000).lsns == 1000)
    }
}
