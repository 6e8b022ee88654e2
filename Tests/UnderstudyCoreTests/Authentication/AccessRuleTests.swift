import Testing
@testable import UnderstudyCore

@Suite struct AccessRuleTests {
    @Test(arguments: ["auth", "hello", "ping", "quit", "reset"])
    func beforeAuthentication_theseRun(name: String) {
        #expect(AccessRule.refusal(commandName: name, isWrite: false, permission: nil) == nil)
    }

    @Test(arguments: ["get", "set", "info", "client", "replicate", "fence", "echo", "nosuchcommand"])
    func beforeAuthentication_everythingElseIsNoAuth(name: String) {
        #expect(AccessRule.refusal(commandName: name, isWrite: name == "set", permission: nil)
            == .error("NOAUTH Authentication required."))
    }

    @Test func readOnlyUser_isRefusedWritesAndOperatorCommands_withRedisWording() {
        #expect(AccessRule.refusal(commandName: "set", isWrite: true, permission: .readOnly)
            == .error("NOPERM this user has no permissions to run the 'set' command"))
        #expect(AccessRule.refusal(commandName: "failover", isWrite: false, permission: .readOnly)
            == .error("NOPERM this user has no permissions to run the 'failover' command"))
        #expect(AccessRule.refusal(commandName: "get", isWrite: false, permission: .readOnly) == nil)
        #expect(AccessRule.refusal(commandName: "info", isWrite: false, permission: .readOnly) == nil)
    }

    @Test func readWriteUser_runsEverything() {
        for (name, isWrite) in [("set", true), ("failover", false), ("get", false)] {
            #expect(AccessRule.refusal(commandName: name, isWrite: isWrite, permission: .readWrite) == nil)
        }
    }
}
