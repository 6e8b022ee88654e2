import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct ConnectionLimitTests {
    @Test func maxConnections_plusOne_isRejectedAndClosed_thenAcceptedAfterOneLeaves() async throws {
        let directory = try TemporaryDirectory()
        var configuration = TestNode.configuration(dataDirectory: directory.path)
        configuration.maxConnections = 2

        try await TestNode.run(configuration) { node in
            try await node.withConnection { first in
                #expect(try await first.call("PING") == .simple("PONG"))
                try await node.withConnection { second in
                    #expect(try await second.call("PING") == .simple("PONG"))
                    try await node.withConnection { third in
                        let refusal = try await third.nextReply()
                        #expect(refusal == .error("ERR max number of clients reached"))
                        #expect(try await third.nextReply() == nil, "the rejected connection is closed")
                    }
                    #expect(try await second.call("SET", "k", "v") == .ok, "the others are unaffected")
                }
                // The second connection is closed; wait until the server has seen that.
                let oneLeft = try await eventually {
                    try await first.infoInteger("clients", "connected_clients") == 1
                }
                #expect(oneLeft)
                try await node.withConnection { fourth in
                    let value = try await fourth.call("GET", "k")
                    #expect(value == .bulk("v"))
                }
                #expect(try await first.infoInteger("stats", "rejected_connections") == 1)
            }
        }
    }
}
