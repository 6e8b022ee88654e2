import UnderstudyTestKit
import Testing
import UnderstudyClient
import UnderstudyCore

@Suite struct ClientAuthenticationTests {
    private static func users() throws -> UserTable {
        try UserTable(users: [
            UserTable.User(name: "default", password: Array("top".utf8)),
            UserTable.User(name: "reader", password: Array("r".utf8), permission: .readOnly),
        ])
    }

    private func client(port: Int, username: String? = nil, password: String?) throws -> UnderstudyClient {
        var configuration = UnderstudyClient.Configuration()
        configuration.randomSource = .seeded(7)
        configuration.password = password
        configuration.username = username
        configuration.deadlineMilliseconds = 1_500
        return try UnderstudyClient(seeds: ["127.0.0.1:\(port)"], configuration: configuration)
    }

    @Test func clientWithThePassword_authenticatesEachConnection() async throws {
        try await LoopbackNode.run(users: try Self.users()) { port in
            let writer = try client(port: port, password: "top")
            try await writer.set("k", "v")
            #expect(try await writer.get("k") == Array("v".utf8))
            await writer.shutdown()
            let reader = try client(port: port, username: "reader", password: "r")
            #expect(try await reader.get("k") == Array("v".utf8))
            await reader.shutdown()
        }
    }

    @Test func nodeRequest_withoutPassword_isNoAuth_withAWrongOne_authenticationFailed() async throws {
        try await LoopbackNode.run(users: try Self.users()) { port in
            let address = NodeAddress(host: "127.0.0.1", port: port)
            let replies = try await NodeRequest.send([Command("GET", "k")], to: address)
            #expect(replies == [.error("NOAUTH Authentication required.")])
            #expect(try await NodeRequest.send([Command("PING")], to: address, password: "top") == [.simple("PONG")])
            do throws(UnderstudyClientError) {
                _ = try await NodeRequest.send([Command("GET", "k")], to: address, password: "wrong")
                Issue.record("a wrong password was accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
                #expect(error.message.contains("WRONGPASS"))
            }
        }
    }
}
