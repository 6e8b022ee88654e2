import NIOEmbedded
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct SentinelConnectionTests {
    private func connection() -> SentinelConnection {
        let hub = SentinelHub(masterName: "understudy", myID: String(repeating: "0", count: 40), downAfterMilliseconds: 1_000,
                              logger: TestNode.logger)
        return SentinelConnection(hub: hub, channel: EmbeddedChannel(), clientID: 5)
    }

    @Test func inSubscribedMode_onlyPubSubPingQuitAndReset_areAllowed() {
        let connection = connection()
        #expect(connection.answer(Command("SUBSCRIBE", "+switch-master"))
            == [.array([.bulk("subscribe"), .bulk("+switch-master"), .integer(1)])])
        #expect(connection.answer(Command("PING")) == [.array([.bulk("pong"), .bulk("")])])
        #expect(connection.answer(Command("PING", "hi")) == [.array([.bulk("pong"), .bulk("hi")])])
        #expect(connection.answer(Command("SENTINEL", "masters")) == [.error(
            "ERR Can't execute 'sentinel': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")])
        #expect(connection.answer(Command("QUIT")) == nil)  // the witness handler's
        #expect(connection.answer(Command("RESET")) == [.simple("RESET")])
        #expect(connection.answer(Command("PING")) == nil)  // unsubscribed: the witness handler's PONG
    }

    @Test func hello2_isAnswered_andHello3_isRefusedWithNOPROTO() {
        let connection = connection()
        guard case .array(let fields?)? = connection.answer(Command("HELLO", "2", "SETNAME", "app"))?.first else {
            Issue.record("expected a field array"); return
        }
        #expect(fields.contains(.integer(2)))
        #expect(connection.answer(Command("CLIENT", "GETNAME")) == [.bulk("app")])
        #expect(connection.answer(Command("HELLO", "3")) == [.error("NOPROTO this witness speaks RESP2 only")])
        #expect(connection.answer(Command("HELLO", "x"))?.first?.isError == true)
    }

    @Test func connectionCommands_thatClientsSend() {
        let connection = connection()
        #expect(connection.answer(Command("ECHO", "hey")) == [.bulk("hey")])
        #expect(connection.answer(Command("CLIENT", "SETNAME", "worker")) == [.ok])
        #expect(connection.answer(Command("CLIENT", "GETNAME")) == [.bulk("worker")])
        #expect(connection.answer(Command("CLIENT", "SETINFO", "LIB-NAME", "redis-py")) == [.ok])
        #expect(connection.answer(Command("CLIENT", "ID")) == [.integer(5)])
        #expect(connection.answer(Command("ROLE")) == [.array([.bulk("sentinel"), .array([.bulk("understudy")])])])
        #expect(connection.answer(Command("WITNESS", "STATUS")) == nil)
        #expect(connection.answer(Command("SUBSCRIBE")) == [.error("ERR wrong number of arguments for 'subscribe' command")])
    }
}
