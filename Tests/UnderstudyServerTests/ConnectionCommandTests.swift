import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct ConnectionCommandTests {
    private func withNode(_ body: (TestNode) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: .everysec), body)
    }

    @Test func quit_repliesOKThenCloses() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                let reply = try await connection.call("QUIT")
                #expect(reply == .ok)
                #expect(try await connection.nextReply() == nil)
            }
        }
    }

    @Test func quit_afterPipelinedWrite_repliesToBothThenCloses() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: .always)) { node in
            try await node.withConnection { connection in
                try await connection.send([Command("SET", "k", "v"), Command("QUIT"), Command("SET", "ignored", "v")])
                #expect(await connection.repliesUntilClosed() == [.ok, .ok])
            }
            try await node.withConnection { connection in
                let values = try await connection.call("MGET", "k", "ignored")
                #expect(values == .array([.bulk("v"), .nullBulk]))
            }
        }
    }

    @Test func hello3_isRefusedWithNOPROTO_hello2Works() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                let refused = try await connection.call("HELLO", "3")
                guard case .error(let message) = refused else {
                    Issue.record("HELLO 3 replied \(refused)")
                    return
                }
                #expect(message.hasPrefix("NOPROTO "))
                guard case .array(let fields?) = try await connection.call("HELLO", "2") else {
                    Issue.record("HELLO 2 did not reply with an array")
                    return
                }
                #expect(fields.count == 14)
                #expect(Array(fields.prefix(6)) == [.bulk("server"), .bulk("redis"), .bulk("version"), .bulk("7.0.15"), .bulk("proto"), .integer(2)])
                #expect(try await connection.call("PING") == .simple("PONG"), "still connected")
            }
        }
    }

    @Test func clientSetnameGetnameAndID() async throws {
        try await withNode { node in
            try await node.withConnection { first in
                try await node.withConnection { second in
                    #expect(try await first.call("CLIENT", "GETNAME") == .nullBulk)
                    #expect(try await first.call("CLIENT", "SETNAME", "worker-1") == .ok)
                    #expect(try await first.call("CLIENT", "GETNAME") == .bulk("worker-1"))
                    #expect(try await second.call("CLIENT", "GETNAME") == .nullBulk, "names are per connection")
                    #expect(try await first.call("CLIENT", "SETNAME", "has space").isError)
                    guard case .integer(let firstID) = try await first.call("CLIENT", "ID"),
                          case .integer(let secondID) = try await second.call("CLIENT", "ID")
                    else {
                        Issue.record("CLIENT ID did not reply with an integer")
                        return
                    }
                    #expect(firstID > 0 && secondID > 0 && firstID != secondID)
                    #expect(try await first.call("CLIENT", "ID") == .integer(firstID), "stable")
                }
            }
        }
    }

    @Test func configGetAppendfsync_reportsThePolicy() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                let fsync = try await connection.call("CONFIG", "GET", "appendfsync")
                #expect(fsync == .array([.bulk("appendfsync"), .bulk("everysec")]))
                #expect(try await connection.call("CONFIG", "GET", "APPEND*") == .array([
                    .bulk("appendfsync"), .bulk("everysec"), .bulk("appendonly"), .bulk("yes"),
                ]))
                #expect(try await connection.call("CONFIG", "GET", "nosuch") == .array([]))
            }
        }
    }
}
