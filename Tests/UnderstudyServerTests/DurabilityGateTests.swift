import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct DurabilityGateTests {
    @Test func fsyncAlways_acknowledgedWrite_isCoveredByTheDurableLSN() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: .always)) { node in
            try await node.withConnection { connection in
                var previousAppended: Int64 = 0
                for round in 0..<20 {
                    #expect(try await connection.call("SET", "k\(round)", "v\(round)") == .ok)
                    // Nothing else writes, so the last appended record is this SET's.
                    let persistence = try await connection.info("persistence")
                    let appended = try #require(persistence["wal_last_appended_lsn"].flatMap { Int64($0) })
                    let durable = try #require(persistence["wal_durable_lsn"].flatMap { Int64($0) })
                    #expect(appended == previousAppended + 1, "one record per SET")
                    #expect(durable >= appended, "SET acknowledged at LSN \(appended) before it was durable (\(durable))")
                    previousAppended = appended
                }
                #expect(try await connection.infoInteger("persistence", "wal_fsyncs") >= 1)
            }
        }
    }
}
