import UnderstudyTestKit
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite(.timeLimit(.minutes(1)))
struct PipeliningTests {
    /// 200 requests: SET k<n>, GET k<n>, INCR counter, ECHO n, repeated; and the reply each
    /// must get. ECHO's reply needs no durability, yet MUST wait behind the writes before it.
    private static func pipeline() -> (commands: [Command], expected: [Reply]) {
        var commands: [Command] = []
        var expected: [Reply] = []
        for index in 0..<200 {
            let round = index / 4
            switch index % 4 {
            case 0:
                commands.append(Command("SET", "k\(round)", "v\(round)"))
                expected.append(.ok)
            case 1:
                commands.append(Command("GET", "k\(round)"))
                expected.append(.bulk("v\(round)"))
            case 2:
                commands.append(Command("INCR", "counter"))
                expected.append(.integer(Int64(round + 1)))
            default:
                commands.append(Command("ECHO", "\(round)"))
                expected.append(.bulk("\(round)"))
            }
        }
        return (commands, expected)
    }

    @Test(arguments: FsyncPolicy.allCases)
    func pipelinedWrites_repliesArriveInRequestOrder(fsyncPolicy: FsyncPolicy) async throws {
        let directory = try TemporaryDirectory()
        let (commands, expected) = Self.pipeline()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: fsyncPolicy)) { node in
            try await node.withConnection { connection in
                try await connection.send(commands)
                expectReplies(try await connection.replies(count: commands.count), expected)
                #expect(try await connection.call("GET", "counter") == .bulk("50"))
            }
        }
    }

    @Test func pipelinedRequestsOnTwoConnections_eachGetsItsOwnRepliesInOrder() async throws {
        let directory = try TemporaryDirectory()
        try await TestNode.run(TestNode.configuration(dataDirectory: directory.path)) { node in
            try await node.withConnection { first in
                try await node.withConnection { second in
                    let firstCommands = (0..<100).map { Command("SET", "a\($0)", "\($0)") }
                    let secondCommands = (0..<100).map { _ in Command("INCR", "shared") }
                    try await first.send(firstCommands)
                    try await second.send(secondCommands)
                    expectReplies(try await first.replies(count: 100), Array(repeating: .ok, count: 100))
                    expectReplies(try await second.replies(count: 100), (1...100).map { .integer(Int64($0)) })
                }
            }
        }
    }
}
