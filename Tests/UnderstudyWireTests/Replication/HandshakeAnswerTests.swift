import Testing
@testable import UnderstudyCore
import UnderstudyWire

@Suite struct HandshakeAnswerTests {
    let cluster = ClusterIdentity.make(1, 2)

    @Test func answers_roundTripThroughTheirLines() throws {
        let history = try EpochHistory(text: "1:1,3:100")
        let answers: [HandshakeAnswer] = [
            .stream(epoch: Epoch(3), from: LSN(7), clusterID: cluster), .stream(epoch: Epoch(3), from: LSN(7), clusterID: nil),
            .snapshot(epoch: Epoch(3), lsn: LSN(90), bytes: 4_096, snapshotEpoch: Epoch(2), history: history, clusterID: cluster),
            .diverged(history: history, clusterID: cluster, reason: "standby is ahead"),
            .refused("READONLY this node is a standby"),
        ]
        for answer in answers {
            let line = answer.line
            #expect(try HandshakeAnswer(line: line.text, isError: line.isError) == answer)
        }
    }

    @Test func linesOfAnOlderPrimary_withoutTheIdentity_areRead() throws {
        #expect(try HandshakeAnswer(line: "STREAM 3 7", isError: false) == .stream(epoch: Epoch(3), from: LSN(7), clusterID: nil))
    }

    @Test func malformedLines_areRejected() {
        for (line, isError) in [("STREAM 3", false), ("STREAM x 7 -", false), ("SNAPSHOT 1 2 3", false), ("OK", false),
                                ("STREAM 3 7 nothex", false), ("DIVERGED 1:1 standby ahead", true)] {
            #expect(throws: ReplicationError.self) { try HandshakeAnswer(line: line, isError: isError) }
        }
    }
}
