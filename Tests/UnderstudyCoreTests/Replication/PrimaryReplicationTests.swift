import Testing
@testable import UnderstudyCore

@Suite struct PrimaryReplicationTests {
    // MARK: commitLSN

    @Test func commitLSN_syncMode_isMinOfLocalAndStandbyDurable() {
        var primary = makePrimary(mode: .sync, written: 10, durable: 0)
        attachStandby(&primary)
        #expect(releases(primary.localDurable(LSN(6), nowMilliseconds: 1)).isEmpty)
        #expect(releases(primary.standbyAcknowledged(durableLSN: LSN(4), epoch: Epoch(1), nowMilliseconds: 1)) == [LSN(4)])
        #expect(releases(primary.standbyAcknowledged(durableLSN: LSN(9), epoch: Epoch(1), nowMilliseconds: 1)) == [LSN(6)])
        #expect(releases(primary.localDurable(LSN(10), nowMilliseconds: 1)) == [LSN(9)])
        #expect(primary.commitLSN == LSN(9))
    }

    @Test func commitLSN_asyncMode_isLocalDurable() {
        var primary = makePrimary(mode: .async, written: 10, durable: 0)
        #expect(releases(primary.localDurable(LSN(7), nowMilliseconds: 1)) == [LSN(7)])
        attachStandby(&primary)
        #expect(releases(primary.standbyAcknowledged(durableLSN: LSN(3), epoch: Epoch(1), nowMilliseconds: 1)).isEmpty)
        #expect(primary.commitLSN == LSN(7))
    }

    @Test func commitLSN_syncMode_noStandby_writesWait() {
        var primary = makePrimary(mode: .sync, written: 10, durable: 0)
        #expect(releases(primary.localDurable(LSN(10), nowMilliseconds: 1)).isEmpty)
        #expect(primary.commitLSN == .zero)
    }

    @Test func commitLSN_syncMode_detachedStandbysAcknowledgementsStillCount() {
        var primary = makePrimary(mode: .sync, written: 10, durable: 0)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(8), epoch: Epoch(1), nowMilliseconds: 1)
        primary.standbyDetached(nowMilliseconds: 2)
        #expect(releases(primary.localDurable(LSN(10), nowMilliseconds: 3)) == [LSN(8)])
    }

    @Test func onAcknowledgement_staleOrRepeated_isIgnored() {
        var primary = makePrimary(mode: .sync, written: 10)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(8), epoch: Epoch(1), nowMilliseconds: 1)
        #expect(primary.standbyAcknowledged(durableLSN: LSN(5), epoch: Epoch(1), nowMilliseconds: 2).isEmpty)
        #expect(primary.standbyDurableLSN == LSN(8))
    }

    @Test func onAcknowledgement_beyondWhatWasSent_disconnectsTheStandby() {
        var primary = makePrimary(mode: .sync, written: 10)
        attachStandby(&primary, lastLSN: 2)
        let actions = primary.standbyAcknowledged(durableLSN: LSN(11), epoch: Epoch(1), nowMilliseconds: 1)
        guard case .disconnectStandby = actions.first else { Issue.record("\(actions)"); return }
        #expect(primary.commitLSN == .zero)
        #expect(primary.standbyAddress == nil)
    }

    @Test func onAcknowledgement_fromHigherEpoch_stepsDown() {
        var primary = makePrimary(mode: .sync, written: 10)
        attachStandby(&primary)
        #expect(primary.standbyAcknowledged(durableLSN: LSN(0), epoch: Epoch(2), nowMilliseconds: 1).first == .stepDown(Epoch(2)))
        #expect(primary.steppedDownForEpoch == Epoch(2))
    }

    // MARK: step-down

    @Test func onHigherEpoch_stepsDownFirst_failsWaiting_thenReleasesNothing() {
        var primary = makePrimary(mode: .async, written: 10, durable: 4)
        let actions = primary.receivedHigherEpoch(Epoch(5))
        #expect(actions.first == .stepDown(Epoch(5)))
        guard case .failWaiting(let after, _, let message) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
        #expect(after == LSN(4))
        #expect(message.contains("epoch 5"))
        #expect(releases(primary.localDurable(LSN(10), nowMilliseconds: 1)).isEmpty)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(10)) != .accept)
        #expect(primary.receivedHigherEpoch(Epoch(5)).isEmpty)
        #expect(primary.receivedHigherEpoch(Epoch(1)).isEmpty)
    }

    // MARK: admission

    @Test func admitWrite_syncMode_atTheLimit_isAccepted_andOneMore_isRefused() {
        let primary = makePrimary(mode: .sync, written: 0, maxWaitingRecords: 3)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(2)) == .accept)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(3))
            == .refuse(message: "NOREPLICAS too many writes waiting for the standby (3 waiting, limit 3)"))
        #expect(primary.admitWrite(lastAppendedLSN: LSN(4))
            == .refuse(message: "NOREPLICAS too many writes waiting for the standby (4 waiting, limit 3)"))
    }

    @Test func admitWrite_syncMode_countsFromTheCommitLSN() {
        var primary = makePrimary(mode: .sync, written: 10, maxWaitingRecords: 3)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(8), epoch: Epoch(1), nowMilliseconds: 1)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(10)) == .accept)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(11)) != .accept)
    }

    @Test func admitWrite_asyncMode_alwaysAccepts() {
        let primary = makePrimary(mode: .async, written: 0, maxWaitingRecords: 1)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(1_000_000)) == .accept)
    }

    @Test func admitWrite_recordsFailedByTheTimeout_noLongerCountAsWaiting() {
        var primary = makePrimary(mode: .sync, written: 3, maxWaitingRecords: 3, syncTimeoutMilliseconds: 100)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(3)) != .accept)
        _ = primary.tick(nowMilliseconds: 100)
        #expect(primary.admitWrite(lastAppendedLSN: LSN(3)) == .accept)
    }

    // MARK: sync timeout

    @Test func onTick_syncTimeout_failsEachWaitingRecordExactlyOnce() {
        var primary = makePrimary(mode: .sync, syncTimeoutMilliseconds: 1000)
        for lsn in 1...3 { _ = primary.recordWritten(LSN(UInt64(lsn)), bytes: 10, nowMilliseconds: 0) }
        _ = primary.localDurable(LSN(3), nowMilliseconds: 0)
        _ = primary.recordWritten(LSN(4), bytes: 10, nowMilliseconds: 400)
        #expect(primary.tick(nowMilliseconds: 999).isEmpty)
        #expect(primary.tick(nowMilliseconds: 1000) == [
            .failWaiting(after: .zero, through: LSN(3), message: "NOREPLICAS standby has not acknowledged LSN 1 within 1000 ms"),
        ])
        #expect(primary.tick(nowMilliseconds: 1001).isEmpty)
        #expect(primary.tick(nowMilliseconds: 1399).isEmpty)
        // The later record has its own clock.
        #expect(primary.tick(nowMilliseconds: 1400) == [
            .failWaiting(after: LSN(3), through: LSN(4), message: "NOREPLICAS standby has not acknowledged LSN 4 within 1000 ms"),
        ])
        #expect(primary.tick(nowMilliseconds: 5000).isEmpty)
    }

    @Test func onTick_syncTimeout_acknowledgedRecordsDoNotFail() {
        var primary = makePrimary(mode: .sync, written: 5, syncTimeoutMilliseconds: 1000)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(3), epoch: Epoch(1), nowMilliseconds: 10)
        #expect(primary.tick(nowMilliseconds: 1000) == [
            .failWaiting(after: LSN(3), through: LSN(5), message: "NOREPLICAS standby has not acknowledged LSN 4 within 1000 ms"),
        ])
    }

    @Test func onTick_asyncMode_failsNothing() {
        var primary = makePrimary(mode: .async, written: 5, durable: 0, syncTimeoutMilliseconds: 10)
        #expect(primary.tick(nowMilliseconds: 1_000_000).isEmpty)
    }

    // MARK: window

    @Test func onSend_window_boundsBytesInFlight() {
        var primary = makePrimary(mode: .async, written: 0, windowBytes: 1000)
        #expect(attachStandby(&primary).isEmpty) // nothing written: nothing to send
        #expect(primary.recordWritten(LSN(1), bytes: 300, nowMilliseconds: 0) == [.sendRecords(from: LSN(1), maxBytes: 1000)])
        // One batch at a time: more records do not ask again while a read is outstanding.
        for lsn in 2...10 { #expect(primary.recordWritten(LSN(UInt64(lsn)), bytes: 300, nowMilliseconds: 0).isEmpty) }
        #expect(primary.recordsSent(upTo: LSN(3), bytes: 900) == [.sendRecords(from: LSN(4), maxBytes: 100)])
        // The first frame goes whatever its size: the window may overshoot by one record.
        #expect(primary.recordsSent(upTo: LSN(4), bytes: 300).isEmpty)
        #expect(primary.bytesInFlight == 1200)
        // A partial acknowledgement frees nothing of a batch not wholly acknowledged.
        #expect(primary.standbyAcknowledged(durableLSN: LSN(2), epoch: Epoch(1), nowMilliseconds: 1).isEmpty)
        #expect(primary.standbyAcknowledged(durableLSN: LSN(3), epoch: Epoch(1), nowMilliseconds: 1)
            == [.sendRecords(from: LSN(5), maxBytes: 700)])
        #expect(primary.bytesInFlight == 300)
    }

    @Test func onSend_catchUpFromBehind_sendsFromTheStandbysNextLSN() {
        var primary = makePrimary(mode: .async, written: 100, windowBytes: 5000)
        #expect(attachStandby(&primary, lastLSN: 40) == [.sendRecords(from: LSN(41), maxBytes: 5000)])
    }

    @Test func onSend_afterStepDown_nothingMoreIsSent() {
        var primary = makePrimary(mode: .async, written: 0)
        attachStandby(&primary)
        _ = primary.receivedHigherEpoch(Epoch(2))
        #expect(primary.recordWritten(LSN(1), bytes: 10, nowMilliseconds: 0).isEmpty)
    }

    @Test func onSend_tooManyBatchesInFlight_waitsForAnAcknowledgement() {
        var primary = makePrimary(mode: .async, written: 0, windowBytes: Int.max)
        attachStandby(&primary)
        for lsn in 1...UInt64(PrimaryReplication.maxBatchesInFlight) {
            _ = primary.recordWritten(LSN(lsn), bytes: 1, nowMilliseconds: 0)
            _ = primary.recordsSent(upTo: LSN(lsn), bytes: 1)
        }
        #expect(primary.recordWritten(LSN(UInt64(PrimaryReplication.maxBatchesInFlight) + 1), bytes: 1, nowMilliseconds: 0).isEmpty)
        #expect(primary.standbyAcknowledged(durableLSN: LSN(1), epoch: Epoch(1), nowMilliseconds: 0).count == 1)
    }

    // MARK: lag

    @Test func lag_reportsLSNsBytesAndAgeOfTheOldestMissingRecord() {
        var primary = makePrimary(mode: .async)
        #expect(primary.lag(nowMilliseconds: 0) == ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: nil, state: .none))
        attachStandby(&primary)
        for lsn in 1...10 { _ = primary.recordWritten(LSN(UInt64(lsn)), bytes: 100, nowMilliseconds: Int64(lsn) * 10) }
        _ = primary.recordsSent(upTo: LSN(10), bytes: 1000)
        _ = primary.standbyAcknowledged(durableLSN: LSN(4), epoch: Epoch(1), nowMilliseconds: 100)
        #expect(primary.lag(nowMilliseconds: 200)
            == ReplicationLag(lsns: 6, bytes: 600, milliseconds: 150, standbyDurableLSN: LSN(4), state: .catchingUp))
        _ = primary.standbyAcknowledged(durableLSN: LSN(10), epoch: Epoch(1), nowMilliseconds: 210)
        #expect(primary.lag(nowMilliseconds: 220)
            == ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: LSN(10), state: .streaming))
        primary.standbyDetached(nowMilliseconds: 230)
        #expect(primary.lag(nowMilliseconds: 230).state == .none)
    }

    /// Issue 9, item 4: after a promotion (or restart) the record history starts empty, so
    /// a standby far behind would seem ~0 bytes behind. Unknown lag is nil, never zero (the
    /// witness counts nil as too far behind for an async vote).
    @Test func knownLag_ofAStandbyBehindWhatThisPrimaryHasSeenWritten_isUnknown() {
        var primary = PrimaryReplication(mode: .async, epoch: Epoch(1), history: EpochHistory(), maxWaitingRecords: 100,
                                         syncTimeoutMilliseconds: 5_000, windowBytes: 1_000, lastWrittenLSN: LSN(1_000))
        #expect(primary.knownLagBytes(nowMilliseconds: 0) == nil, "no standby has acknowledged anything")
        let log = FakePrimaryLog(lastWrittenLSN: LSN(1_000))
        let handshake = StandbyHandshake(standbyAddress: "127.0.0.1:7001", epoch: Epoch(1), lastLSN: LSN(10),
                                         lastRecordChecksum: FakePrimaryLog.checksum(LSN(10)), history: primary.history)
        guard case .stream = primary.standbyHandshake(handshake, facts: log.facts) else {
            Issue.record("not streamed"); return
        }
        _ = primary.readyToStream()
        _ = primary.recordsSent(upTo: LSN(1_000), bytes: 99_000)
        _ = primary.standbyAcknowledged(durableLSN: LSN(10), epoch: Epoch(1), nowMilliseconds: 1)
        #expect(primary.standbyDurableLSN == LSN(10))
        #expect(primary.lag(nowMilliseconds: 1).bytes == 0, "the ring knows no sizes of records 11...1000")
        #expect(primary.knownLagBytes(nowMilliseconds: 1) == nil, "so the lag in bytes is unknown, not zero")
        _ = primary.recordWritten(LSN(1_001), bytes: 100, nowMilliseconds: 2)
        _ = primary.recordsSent(upTo: LSN(1_001), bytes: 100_000)
        _ = primary.standbyAcknowledged(durableLSN: LSN(1_000), epoch: Epoch(1), nowMilliseconds: 3)
        #expect(primary.knownLagBytes(nowMilliseconds: 3) == 100, "known again once the standby reaches what the ring holds")
    }

    @Test func lag_standbyBehindTheBoundedRing_reportsALowerBound() {
        var primary = makePrimary(mode: .async, writtenRecordCapacity: 16)
        attachStandby(&primary)
        for lsn in 1...1000 { _ = primary.recordWritten(LSN(UInt64(lsn)), bytes: 10, nowMilliseconds: Int64(lsn)) }
        #expect(primary.ring.count == 16)
        let lag = primary.lag(nowMilliseconds: 1000)
        #expect(lag.lsns == 1000)
        #expect(lag.bytes == 160)            // at least the 16 records still known
        #expect(lag.milliseconds == 1000 - 984) // at least as old as the horizon
    }

    // MARK: property

    /// Random interleavings of local durability, standby acknowledgements, detaches and
    /// reattaches never release past min(local durable, standby durable) in sync mode,
    /// and releases only grow.
    @Test(arguments: 1...6)
    func property_syncMode_neverReleasesBeyondWhatBothDisksHold(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var primary = makePrimary(mode: .sync, windowBytes: 1 << 20)
        var local = LSN.zero
        var standbyHolds = LSN.zero
        var sent = LSN.zero
        var attached = false
        var released = LSN.zero
        var now: Int64 = 0
        for _ in 0..<2000 {
            now += Int64.random(in: 0...3, using: &random)
            var actions: [PrimaryAction] = []
            switch Int.random(in: 0..<10, using: &random) {
            case 0...2:
                actions = primary.recordWritten(primary.lastWrittenLSN.next, bytes: 10, nowMilliseconds: now)
            case 3, 4:
                let target = LSN(UInt64.random(in: local.rawValue...primary.lastWrittenLSN.rawValue, using: &random))
                local = max(local, target)
                actions = primary.localDurable(target, nowMilliseconds: now)
            case 5, 6:
                guard attached else { continue }
                let target = LSN(UInt64.random(in: standbyHolds.rawValue...sent.rawValue, using: &random))
                standbyHolds = target
                actions = primary.standbyAcknowledged(durableLSN: target, epoch: Epoch(1), nowMilliseconds: now)
            case 7:
                if attached {
                    primary.standbyDetached(nowMilliseconds: now)
                    attached = false
                } else {
                    actions = attachStandby(&primary, lastLSN: standbyHolds.rawValue, sendAll: false)
                    sent = standbyHolds
                    attached = true
                }
            default:
                actions = primary.tick(nowMilliseconds: now)
            }
            for action in actions {
                switch action {
                case .release(let upTo):
                    #expect(upTo > released)
                    #expect(upTo <= min(local, standbyHolds))
                    released = upTo
                case .sendRecords(let from, _):
                    let upTo = primary.lastWrittenLSN
                    #expect(from == sent.next)
                    sent = upTo
                    _ = primary.recordsSent(upTo: upTo, bytes: Int(upTo.rawValue - from.rawValue + 1) * 10)
                default:
                    break
                }
            }
            #expect(primary.commitLSN == released)
        }
    }
}
