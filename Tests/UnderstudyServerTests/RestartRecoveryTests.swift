import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct RestartRecoveryTests {
    /// 2100-01-01T00:00:00Z in Unix milliseconds: an absolute expiry that stays in the future.
    private static let farExpiryUnixMilliseconds: Int64 = 4_102_444_800_000
    private static let binaryValue: [UInt8] = Array(0...255) + Array("\r\n$-1\r\n".utf8)

    @Test func restart_keysValuesAndTTLsSurvive_expiredWhileDownIsGone() async throws {
        let directory = try TemporaryDirectory()
        var configuration = TestNode.configuration(dataDirectory: directory.path)
        // No expiry cycle in the first run: the short-lived key is still stored at shutdown.
        configuration.expiryCycleIntervalMilliseconds = 3_600_000

        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                try await connection.send([
                    Command("SET", "plain", "v1"),
                    Command("INCRBY", "counter", "5"),
                    Command(arguments: [Array("SET".utf8), Array("binary".utf8), Self.binaryValue]),
                    Command("SET", "ttl", "t", "EX", "100"),
                    Command("SET", "absolute", "a"),
                    Command("PEXPIREAT", "absolute", "\(Self.farExpiryUnixMilliseconds)"),
                    Command("SET", "short", "s", "PX", "1"),
                    Command("DBSIZE"),
                ])
                let replies = try await connection.replies(count: 8)
                #expect(replies == [.ok, .integer(5), .ok, .ok, .ok, .integer(1), .ok, .integer(6)])
            }
        }

        configuration.expiryCycleIntervalMilliseconds = 100
        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                #expect(try await connection.call("GET", "plain") == .bulk("v1"))
                #expect(try await connection.call("GET", "counter") == .bulk("5"))
                #expect(try await connection.call("GET", "binary") == .bulk(Self.binaryValue))
                #expect(try await connection.call("TTL", "plain") == .integer(-1))
                let remaining = try await connection.call("PTTL", "ttl")
                guard case .integer(let milliseconds) = remaining else {
                    Issue.record("PTTL replied \(remaining)")
                    return
                }
                #expect((90_000...100_000).contains(milliseconds))
                #expect(try await connection.call("PEXPIRETIME", "absolute") == .integer(Self.farExpiryUnixMilliseconds))
                #expect(try await connection.call("GET", "short") == .nullBulk)
                #expect(try await connection.call("EXISTS", "short") == .integer(0))
                #expect(try await connection.call("DBSIZE") == .integer(5))
            }
        }
    }

    @Test func restart_twice_writesOfEveryRunAccumulate() async throws {
        let directory = try TemporaryDirectory()
        let configuration = TestNode.configuration(dataDirectory: directory.path)
        for run in 1...3 {
            try await TestNode.run(configuration) { node in
                try await node.withConnection { connection in
                    #expect(try await connection.call("INCR", "runs") == .integer(Int64(run)))
                    #expect(try await connection.call("SET", "run\(run)", "\(run)") == .ok)
                    #expect(try await connection.call("DBSIZE") == .integer(Int64(run + 1)))
                    let appended = try await connection.infoInteger("persistence", "wal_last_appended_lsn")
                    #expect(appended == Int64(2 * run), "LSNs continue across restarts")
                }
            }
        }
    }
}
