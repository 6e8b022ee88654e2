import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct ExpiryCycleTests {
    @Test func keysWithShortTTL_disappearWithoutBeingTouched_andAreCounted() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path)) { node in
            try await node.withConnection { connection in
                var commands = (0..<20).map { Command("SET", "short\($0)", "v", "PX", "50") }
                commands.append(Command("SET", "lasting", "v"))
                commands.append(Command("SET", "later", "v", "EX", "100"))
                try await connection.send(commands)
                expectReplies(try await connection.replies(count: commands.count), Array(repeating: .ok, count: commands.count))

                // DBSIZE counts stored entries and deletes nothing itself.
                let expired = try await eventually {
                    try await connection.call("DBSIZE") == .integer(2)
                }
                #expect(expired)
                #expect(try await connection.infoInteger("stats", "expired_keys") == 20)
                #expect(try await connection.call("EXISTS", "lasting", "later") == .integer(2))
            }
        }
    }

    @Test func expiredKeysDeletedByTheCycle_stayDeletedAfterRestart() async throws {
        let directory = try TemporaryDirectory()
        let configuration = TestNode.configuration(dataDirectory: directory.path)
        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                #expect(try await connection.call("SET", "short", "v", "PX", "50") == .ok)
                let expired = try await eventually { try await connection.call("DBSIZE") == .integer(0) }
                #expect(expired)
            }
        }
        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                let size = try await connection.call("DBSIZE")
                #expect(size == .integer(0), "the deletion was logged")
            }
        }
    }
}
