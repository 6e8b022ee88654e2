import Testing
import UnderstudyCore
@testable import UnderstudyClient

@Suite struct ReplyClassificationTests {
    private func classify(_ error: String) -> ReplyClassification { ReplyClassification.classify(.error(error)) }

    @Test func notExecutedReplies_areSafeToRetry() {
        for text in ["TRYAGAIN this primary's lease has expired (epoch 3): …", "LOADING loading", "BUSY busy",
                     "ERR write refused: log failed", "ERR read refused: the write-ahead log failed", "NOREPLICAS too many writes waiting for the standby (5 waiting, limit 4)"] {
            guard case .notExecuted(_, nil) = classify(text) else { Issue.record("\(text) not 'not executed'"); continue }
        }
    }

    @Test func readonlyFromAStandby_namesThePrimaryAndEpoch() {
        let text = "READONLY You can't write against a read only replica. primary=10.0.0.2:7002 epoch=7"
        #expect(classify(text) == .notExecuted(reason: text, redirect: .init(primary: NodeAddress(host: "10.0.0.2", port: 7002), epoch: 7)))
    }

    @Test func readonlyFromASupersededPrimary_carriesTheNewerEpochOnly() {
        let redirect = ReplyClassification.parseRedirect("READONLY this node is no longer the primary: epoch 9 superseded epoch 8")
        #expect(redirect == .init(primary: nil, epoch: 9))
        #expect(ReplyClassification.parseRedirect("READONLY this node is no longer primary: it has seen epoch 4").epoch == 4)
        #expect(ReplyClassification.parseRedirect("READONLY You can't write against a read only replica. primary=? epoch=2")
            == .init(primary: nil, epoch: 2))
    }

    @Test func uncertainAndNoReplicasTimeouts_areOutcomeUnknown() {
        #expect(classify("UNCERTAIN stepped down; the write may or may not have been applied") == .outcomeUnknown(reason: "UNCERTAIN stepped down; the write may or may not have been applied"))
        guard case .outcomeUnknown = classify("NOREPLICAS standby has not acknowledged LSN 12 within 5000 ms") else {
            Issue.record("a sync timeout must be outcome unknown")
            return
        }
    }

    @Test func otherErrors_areFinal_andIdempotencyConflictsHaveTheirOwnCode() {
        #expect(classify("ERR value is not an integer or out of range") == .failed(.serverError, message: "ERR value is not an integer or out of range"))
        #expect(classify("ERR IDEMPOTENT key was already used for another command or other arguments")
            == .failed(.idempotencyKeyConflict, message: "ERR IDEMPOTENT key was already used for another command or other arguments"))
        #expect(ReplyClassification.classify(.integer(3)) == .success(.integer(3)))
    }

    @Test func transportFailures_splitOnWhetherTheRequestWasWritten() {
        #expect(ReplyClassification.classify(TransportFailure.notSent(reason: "refused")) == .notExecuted(reason: "refused", redirect: nil))
        #expect(ReplyClassification.classify(TransportFailure.sentWithoutReply(reason: "timeout")) == .outcomeUnknown(reason: "timeout"))
    }
}
