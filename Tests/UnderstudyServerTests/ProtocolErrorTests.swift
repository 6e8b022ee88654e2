import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct ProtocolErrorTests {
    @Test func invalidBulkLength_getsProtocolErrorAndClose_othersUnaffected() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path)) { node in
            try await node.withConnection { bystander in
                #expect(try await bystander.call("SET", "k", "v") == .ok)
                try await node.withConnection { offender in
                    #expect(try await offender.call("SET", "mine", "1") == .ok)
                    try await offender.sendRaw("*1\r\n$x\r\n")
                    #expect(try await offender.nextReply() == .error("ERR Protocol error: invalid bulk length"))
                    #expect(try await offender.nextReply() == nil, "the connection is closed")
                }
                #expect(try await bystander.call("GET", "k") == .bulk("v"))
                #expect(try await bystander.call("GET", "mine") == .bulk("1"))
                #expect(try await bystander.infoInteger("stats", "total_error_replies_protocol") == 1)
            }
            try await node.withConnection { newcomer in
                let size = try await newcomer.call("DBSIZE")
                #expect(size == .integer(2))
            }
        }
    }

    @Test func protocolErrorAfterPipelinedWrites_repliesToThemFirst() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path)) { node in
            try await node.withConnection { connection in
                try await connection.sendRaw("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$x\r\n")
                #expect(await connection.repliesUntilClosed() == [
                    .ok, .integer(1), .error("ERR Protocol error: invalid bulk length"),
                ])
            }
            try await node.withConnection { connection in
                let values = try await connection.call("MGET", "a", "n")
                #expect(values == .array([.bulk("1"), .bulk("1")]))
            }
        }
    }
}
