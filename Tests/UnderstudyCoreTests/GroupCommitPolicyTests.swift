import Testing
import UnderstudyCore

@Suite struct GroupCommitPolicyTests {
    @Test func firstRecords_startASyncAtOnce() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 500_000)
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 1, nowNanoseconds: 0) == .startNow)
    }

    @Test func nothingWritten_nothingToSync() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 500_000)
        #expect(policy.decide(recordsWaiting: false, waitingConnections: 3, nowNanoseconds: 0) == .nothingToSync)
    }

    @Test func afterASync_waitsForTheReleasedCohortToComeBack() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 500_000)
        policy.syncCompleted(releasedConnections: 49)
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 1, nowNanoseconds: 1_000)
            == .waitUntil(nanoseconds: 501_000))
        // The deadline counts from when records began to wait, not from each question.
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 30, nowNanoseconds: 200_000)
            == .waitUntil(nanoseconds: 501_000))
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 49, nowNanoseconds: 210_000) == .startNow)
    }

    @Test func aCohortThatDoesNotComeBack_delaysAtMostTheMaximum() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 500_000)
        policy.syncCompleted(releasedConnections: 10)
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 2, nowNanoseconds: 0)
            == .waitUntil(nanoseconds: 500_000))
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 2, nowNanoseconds: 499_999)
            == .waitUntil(nanoseconds: 500_000))
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 2, nowNanoseconds: 500_000) == .startNow)
    }

    @Test func aLoneClient_neverWaits() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 500_000)
        for round in 0..<100 {
            #expect(policy.decide(recordsWaiting: true, waitingConnections: 1, nowNanoseconds: Int64(round) * 300_000) == .startNow)
            policy.syncCompleted(releasedConnections: 1)
        }
    }

    @Test func zeroDelay_behavesLikeEagerGroupCommit() {
        var policy = GroupCommitPolicy(maxDelayNanoseconds: 0)
        policy.syncCompleted(releasedConnections: 50)
        #expect(policy.decide(recordsWaiting: true, waitingConnections: 1, nowNanoseconds: 7) == .startNow)
    }
}
