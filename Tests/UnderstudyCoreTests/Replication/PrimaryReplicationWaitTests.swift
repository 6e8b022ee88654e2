import Testing
@testable import UnderstudyCore

@Suite struct PrimaryReplicationWaitTests {
    @Test func onWait_standbyAlreadyHoldsTheLSN_isSatisfiedAtOnce() {
        var primary = makePrimary(mode: .async, written: 10)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(7), epoch: Epoch(1), nowMilliseconds: 0)
        #expect(primary.waitRequested(connection: 1, lsn: LSN(7), deadlineMilliseconds: 100) == .satisfied(replicas: 1))
        #expect(primary.waitingConnectionCount == 0)
    }

    @Test func onWait_pending_completesOnTheAcknowledgement() {
        var primary = makePrimary(mode: .async, written: 10)
        attachStandby(&primary)
        #expect(primary.waitRequested(connection: 1, lsn: LSN(8), deadlineMilliseconds: nil) == .pending)
        #expect(primary.waitRequested(connection: 2, lsn: LSN(10), deadlineMilliseconds: nil) == .pending)
        let actions = primary.standbyAcknowledged(durableLSN: LSN(9), epoch: Epoch(1), nowMilliseconds: 5)
        #expect(actions.contains(.completeWait(connection: 1, replicas: 1)))
        #expect(!actions.contains(.completeWait(connection: 2, replicas: 1)))
        #expect(primary.waitingConnectionCount == 1)
    }

    @Test func onWait_deadlinePasses_completesWithZeroReplicas() {
        var primary = makePrimary(mode: .async, written: 10)
        #expect(primary.waitRequested(connection: 3, lsn: LSN(10), deadlineMilliseconds: 500) == .pending)
        #expect(primary.tick(nowMilliseconds: 499).isEmpty)
        #expect(primary.tick(nowMilliseconds: 500) == [.completeWait(connection: 3, replicas: 0)])
        #expect(primary.tick(nowMilliseconds: 501).isEmpty)
    }

    @Test func onWait_noDeadline_waitsForever() {
        var primary = makePrimary(mode: .async, written: 10)
        #expect(primary.waitRequested(connection: 3, lsn: LSN(10), deadlineMilliseconds: nil) == .pending)
        #expect(primary.tick(nowMilliseconds: Int64.max).isEmpty)
    }

    @Test func onWait_noWritesOnTheConnection_andNoStandby_pends() {
        var primary = makePrimary(mode: .async)
        #expect(primary.waitRequested(connection: 1, lsn: .zero, deadlineMilliseconds: 10) == .pending)
        attachStandby(&primary)
        #expect(primary.waitRequested(connection: 2, lsn: .zero, deadlineMilliseconds: 10) == .satisfied(replicas: 1))
    }

    @Test func onWait_zeroReplicasRequested_answersAtOnce() {
        var primary = makePrimary(mode: .async, written: 10)
        #expect(primary.waitRequested(connection: 1, lsn: LSN(10), deadlineMilliseconds: nil, numberOfReplicas: 0) == .satisfied(replicas: 0))
    }

    @Test func onWait_moreReplicasThanExist_answersAtTheDeadlineWithWhatHolds() {
        var primary = makePrimary(mode: .async, written: 10)
        attachStandby(&primary)
        _ = primary.standbyAcknowledged(durableLSN: LSN(10), epoch: Epoch(1), nowMilliseconds: 0)
        #expect(primary.waitRequested(connection: 1, lsn: LSN(10), deadlineMilliseconds: 50, numberOfReplicas: 2) == .pending)
        #expect(primary.tick(nowMilliseconds: 50) == [.completeWait(connection: 1, replicas: 1)])
    }

    @Test func onWait_atTheLimit_isAccepted_andOneMore_isRefused() {
        var primary = makePrimary(mode: .async, written: 10, maxWaiters: 3)
        for connection in 1...3 {
            #expect(primary.waitRequested(connection: UInt64(connection), lsn: LSN(10), deadlineMilliseconds: nil) == .pending)
        }
        #expect(primary.waitRequested(connection: 4, lsn: LSN(10), deadlineMilliseconds: nil)
            == .refused(message: "ERR too many connections in WAIT (limit 3)"))
        primary.waitCancelled(connection: 2)
        #expect(primary.waitRequested(connection: 4, lsn: LSN(10), deadlineMilliseconds: nil) == .pending)
    }

    @Test func onWait_stepDown_completesEveryWaiter() {
        var primary = makePrimary(mode: .async, written: 10)
        _ = primary.waitRequested(connection: 9, lsn: LSN(10), deadlineMilliseconds: nil)
        #expect(primary.receivedHigherEpoch(Epoch(2)).contains(.completeWait(connection: 9, replicas: 0)))
        #expect(primary.waitingConnectionCount == 0)
    }
}
