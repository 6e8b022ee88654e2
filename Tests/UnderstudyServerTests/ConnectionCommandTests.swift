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

    private static func helloFields(proto: Int64, id: Int64) -> KeyValuePairs<String, Reply> {
        ["server": .bulk("redis"), "version": .bulk("7.0.15"), "proto": .integer(proto), "id": .integer(id),
         "mode": .bulk("standalone"), "role": .bulk("master"), "modules": .array([])]
    }

    private static func helloArray(proto: Int64, id: Int64) -> Reply {
        .array(helloFields(proto: proto, id: id).flatMap { [Reply.bulk($0.key), $0.value] })
    }

    @Test func hello3_switchesToRESP3_andHello2SwitchesBack() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                guard case .integer(let id) = try await connection.call("CLIENT", "ID") else {
                    Issue.record("CLIENT ID did not reply with an integer")
                    return
                }
                #expect(try await connection.call("GET", "missing") == .nullBulk, "RESP2 until HELLO 3")
                #expect(try await connection.call("HELLO", "3") == .map(Self.helloFields(proto: 3, id: id)))
                #expect(try await connection.call("HELLO") == .map(Self.helloFields(proto: 3, id: id)),
                        "HELLO alone answers in the current protocol")
                #expect(try await connection.call("SET", "k", "v") == .ok)
                #expect(try await connection.call("GET", "missing") == .null)
                #expect(try await connection.call("MGET", "k", "missing") == .array([.bulk("v"), .null]))
                #expect(try await connection.call("SET", "k", "w", "NX") == .null)
                #expect(try await connection.call("CLIENT", "GETNAME") == .null)
                #expect(try await connection.call("CONFIG", "GET", "appendfsync") == .map(["appendfsync": .bulk("everysec")]))
                #expect(try await connection.call("CONFIG", "GET", "nosuch") == .map([]))
                #expect(try await connection.call("COMMAND", "INFO", "nosuch") == .array([.null]))
                guard case .verbatim(.text, let info) = try await connection.call("INFO", "server") else {
                    Issue.record("INFO is not a verbatim string in RESP3")
                    return
                }
                #expect(String(decoding: info, as: UTF8.self).hasPrefix("# Server\r\nredis_version:7.0.15\r\n"))
                guard case .verbatim(.text, let client) = try await connection.call("CLIENT", "INFO") else {
                    Issue.record("CLIENT INFO is not a verbatim string in RESP3")
                    return
                }
                #expect(String(decoding: client, as: UTF8.self).hasSuffix(" resp=3\n"))
                #expect(try await connection.call("HELLO", "2") == Self.helloArray(proto: 2, id: id))
                #expect(try await connection.call("GET", "missing") == .nullBulk)
                #expect(try await connection.call("CONFIG", "GET", "appendfsync") == .array([.bulk("appendfsync"), .bulk("everysec")]))
            }
        }
    }

    @Test func hello_refusesOtherVersions_andTheProtocolStays() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                #expect(try await connection.call("HELLO", "4") == .error("NOPROTO unsupported protocol version"))
                #expect(try await connection.call("HELLO", "1") == .error("NOPROTO unsupported protocol version"))
                #expect(try await connection.call("HELLO", "03") == .error("ERR Protocol version is not an integer or out of range"))
                #expect(try await connection.call("GET", "missing") == .nullBulk)
                _ = try await connection.call("HELLO", "3")
                #expect(try await connection.call("HELLO", "2", "BOGUS") == .error("ERR Syntax error in HELLO option 'BOGUS'"))
                #expect(try await connection.call("GET", "missing") == .null, "a refused HELLO 2 leaves RESP3")
            }
        }
    }

    @Test func reset_returnsTheConnectionToRESP2() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                _ = try await connection.call("HELLO", "3", "SETNAME", "worker")
                #expect(try await connection.call("RESET") == .simple("RESET"))
                #expect(try await connection.call("GET", "missing") == .nullBulk)
                #expect(try await connection.call("CLIENT", "GETNAME") == .nullBulk)
            }
        }
    }

    @Test func helloAuthAndSetname_behaveAsRedis7WithItsDefaultUser() async throws {
        try await withNode { node in
            try await node.withConnection { connection in
                guard case .map = try await connection.call("HELLO", "3", "AUTH", "default", "any-password") else {
                    Issue.record("the default user takes any password (Redis 7's nopass)")
                    return
                }
                let wrongPass = Reply.error("WRONGPASS invalid username-password pair or user is disabled.")
                _ = try await connection.call("HELLO", "2")
                #expect(try await connection.call("HELLO", "3", "AUTH", "bob", "secret") == wrongPass)
                #expect(try await connection.call("GET", "missing") == .nullBulk, "a refused HELLO 3 leaves RESP2")
                #expect(try await connection.call("HELLO", "3", "AUTH", "bob") == .error("ERR Syntax error in HELLO option 'AUTH'"))
                guard case .map = try await connection.call("HELLO", "3", "SETNAME", "worker-1") else {
                    Issue.record("HELLO 3 SETNAME did not reply with a map")
                    return
                }
                #expect(try await connection.call("CLIENT", "GETNAME") == .bulk("worker-1"), "HELLO SETNAME is CLIENT SETNAME")
                #expect(try await connection.call("HELLO", "3", "SETNAME", "has space")
                    == .error("ERR Client names cannot contain spaces, newlines or special characters."))
                #expect(try await connection.call("CLIENT", "GETNAME") == .bulk("worker-1"))
                // Redis 7.0 carries out each option as it reads it.
                #expect(try await connection.call("HELLO", "2", "SETNAME", "worker-2", "AUTH", "bob", "x") == wrongPass)
                #expect(try await connection.call("CLIENT", "GETNAME") == .bulk("worker-2"))
                #expect(try await connection.call("GET", "missing") == .null, "still RESP3")
                _ = try await connection.call("HELLO", "3", "SETNAME", "")
                #expect(try await connection.call("CLIENT", "GETNAME") == .null, "an empty name clears it")
            }
        }
    }

    @Test func heldReplies_keepTheProtocolTheirCommandRanIn() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: .always)) { node in
            try await node.withConnection { connection in
                // SET's reply waits for fsync; HELLO and GET run meanwhile and queue behind it.
                try await connection.send([Command("SET", "k", "v"), Command("HELLO", "3"), Command("GET", "missing"),
                                           Command("SET", "k", "w"), Command("HELLO", "2"), Command("GET", "missing")])
                let replies = try await connection.replies(count: 6)
                #expect(replies[0] == .ok)
                guard case .map = replies[1], case .array = replies[4] else {
                    Issue.record("HELLO 3 and HELLO 2 answer in the protocol they switch to: \(replies)")
                    return
                }
                #expect(replies[2] == .null)
                #expect(replies[3] == .ok)
                #expect(replies[5] == .nullBulk)
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
