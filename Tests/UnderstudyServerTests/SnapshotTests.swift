import UnderstudyTestKit
import Testing
import UnderstudyCore
import UnderstudyStorage
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct SnapshotTests {
    private static func value(_ index: Int) -> String {
        String(repeating: "\(index % 10)", count: 100) + "-\(index)"
    }

    @Test func smallSnapshotThreshold_takesASnapshot_prunesTheLog_andRestartRecoversEveryKey() async throws {
        let directory = try TemporaryDirectory()
        var configuration = TestNode.configuration(dataDirectory: directory.path)
        configuration.snapshotThresholdBytes = 4096
        configuration.walSegmentMaxBytes = 4096
        configuration.walRetentionBytes = 0
        let keyCount = 400

        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                for batch in stride(from: 0, to: keyCount, by: 100) {
                    try await connection.send((batch..<batch + 100).map { Command("SET", "key\($0)", Self.value($0)) })
                    expectReplies(try await connection.replies(count: 100), Array(repeating: .ok, count: 100))
                }
                let snapshotTaken = try await eventually {
                    try await connection.infoInteger("persistence", "snapshots_taken") >= 1
                }
                #expect(snapshotTaken)
                #expect(try await connection.infoInteger("persistence", "snapshot_last_lsn") > 0)
                // Records after the snapshot: recovery needs the snapshot and the log's tail.
                #expect(try await connection.call("SET", "after", "snapshot") == .ok)
            }
        }

        let snapshots = TemporaryDirectory.names(in: StorageLayout.snapshotDirectory(directory.path))
        #expect(snapshots.contains { $0.hasSuffix(".snap") }, "\(snapshots)")
        let segments = TemporaryDirectory.names(in: StorageLayout.walDirectory(directory.path))
        #expect(!segments.contains("00000000000000000001.wal"), "segments covered by the snapshot are pruned: \(segments)")

        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                #expect(try await connection.call("DBSIZE") == .integer(Int64(keyCount + 1)))
                try await connection.send([Command(arguments: [Array("MGET".utf8)] + (0..<keyCount).map { Array("key\($0)".utf8) })])
                expectReplies(arrayElements(try await connection.reply()), (0..<keyCount).map { .bulk(Self.value($0)) })
                #expect(try await connection.call("GET", "after") == .bulk("snapshot"))
            }
        }
    }
}
