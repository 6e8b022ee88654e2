import UnderstudyTestKit
import NIOCore
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct GracefulShutdownTests {
    @Test(arguments: FsyncPolicy.allCases)
    func gracefulShutdown_withInFlightPipelinedWrites_keepsEveryAcknowledgedWrite(fsyncPolicy: FsyncPolicy) async throws {
        let directory = try TemporaryDirectory()
        let configuration = TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: fsyncPolicy)
        let batchSize = 100
        let maximumBatches = 100
        func batch(_ number: Int) -> [Command] {
            (number * batchSize..<(number + 1) * batchSize).map { Command("SET", "key\($0)", "value\($0)") }
        }

        // `TestNode.run` fails if the service's run() throws: returning here means it stopped cleanly.
        let (sentCount, acknowledgedCount) = try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                try await connection.send(batch(0))
                let first = try await connection.reply()
                await node.triggerGracefulShutdown()
                // Keep pipelining while the node drains, until it closes the connection.
                var sentBatches = 1
                do {
                    while sentBatches < maximumBatches {
                        try await connection.send(batch(sentBatches))
                        sentBatches += 1
                        await Task.yield()
                    }
                } catch {
                    // The node closed the connection; later writes were never sent.
                }
                let replies = [first] + (await connection.repliesUntilClosed())
                expectReplies(replies, Array(repeating: .ok, count: replies.count))
                return (sentBatches * batchSize, replies.count)
            }
        }
        #expect(acknowledgedCount >= 1 && acknowledgedCount <= sentCount)

        try await TestNode.run(configuration) { node in
            try await node.withConnection { connection in
                let keys = (0..<acknowledgedCount).map { "key\($0)" }
                try await connection.send([Command(arguments: [Array("MGET".utf8)] + keys.map { Array($0.utf8) })])
                expectReplies(arrayElements(try await connection.reply()), (0..<acknowledgedCount).map { .bulk("value\($0)") })
            }
        }
    }

    /// Serialized: each case floods the node with all the CPU it can get.
    @Test(.serialized, arguments: FsyncPolicy.allCases)
    func gracefulShutdown_whileAClientKeepsPipelining_stopsTakingRequestsPromptly(fsyncPolicy: FsyncPolicy) async throws {
        let directory = try TemporaryDirectory()
        let configuration = TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: fsyncPolicy)
        try await TestNode.run(configuration) { node in
            // A client that never stops writing MUST NOT hold the shutdown up.
            let flood = try await PipelineFlooder.start(
                port: node.port, commands: (0..<20).map { Command("INCR", "n\($0)") },
                deadline: NIODeadline.now() + TimeAmount.seconds(6))
            try await flood.firstReply.get()
            await node.triggerGracefulShutdown()
            #expect(try await flood.closedByServer.get(), "the node kept taking requests after shutdown began")
        }
    }

    @Test func gracefulShutdown_closesIdleConnections_andRunReturns() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path)) { node in
            try await node.withConnection { connection in
                let pong = try await connection.call("PING")
                #expect(pong == .simple("PONG"))
                await node.triggerGracefulShutdown()
                #expect(await connection.repliesUntilClosed() == [])
            }
        }
    }
}
