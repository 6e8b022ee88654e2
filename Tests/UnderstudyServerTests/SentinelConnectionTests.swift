import NIOEmbedded
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct SentinelConnectionTests {
    /// Runs `body` with a connection on an `EmbeddedChannel`, then finishes the channel: an
    /// unfinished one keeps its pipeline alive (a leak under `scripts/sanitize address`).
    private func withConnection(_ body: (SentinelConnection) -> Void) throws {
        let hub = SentinelHub(masterName: "understudy", myID: String(repeating: "0", count: 40), downAfterMilliseconds: 1_000,
                              logger: TestNode.logger)
        let channel = EmbeddedChannel()
        body(SentinelConnection(hub: hub, channel: channel, clientID: 5))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func inSubscribedMode_onlyPubSubPingQuitAndReset_areAllowed() throws {
        try withConnection { connection in
            #expect(connection.answer(Command("SUBSCRIBE", "+switch-master"))
                == [.push([.bulk("subscribe"), .bulk("+switch-master"), .integer(1)])])
            #expect(connection.answer(Command("PING")) == [.array([.bulk("pong"), .bulk("")])])
            #expect(connection.answer(Command("PING", "hi")) == [.array([.bulk("pong"), .bulk("hi")])])
            #expect(connection.answer(Command("SENTINEL", "masters")) == [.error(
                "ERR Can't execute 'sentinel': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")])
            #expect(connection.answer(Command("QUIT")) == nil)  // the witness handler's
            #expect(connection.answer(Command("RESET")) == [.simple("RESET")])
            #expect(connection.answer(Command("PING")) == nil)  // unsubscribed: the witness handler's PONG
        }
    }

    @Test func hello_switchesTheProtocol_andRefusesAnUnknownOne() throws {
        try withConnection { connection in
            guard case .map(let fields)? = connection.answer(Command("HELLO", "2", "SETNAME", "app"))?.first else {
                Issue.record("expected a field map"); return
            }
            #expect(fields.contains(Reply.MapEntry(.bulk("proto"), .integer(2))))
            #expect(connection.protocolVersion == .resp2)
            #expect(connection.answer(Command("CLIENT", "GETNAME")) == [.bulk("app")])
            guard case .map(let resp3)? = connection.answer(Command("HELLO", "3"))?.first else {
                Issue.record("expected a field map"); return
            }
            #expect(resp3.contains(Reply.MapEntry(.bulk("proto"), .integer(3))))
            #expect(connection.protocolVersion == .resp3)
            #expect(connection.answer(Command("HELLO", "4")) == [.error("NOPROTO unsupported protocol version")])
            #expect(connection.answer(Command("HELLO", "x"))?.first?.isError == true)
            #expect(connection.protocolVersion == .resp3, "a refused HELLO changes nothing")
            #expect(connection.answer(Command("RESET")) == [.simple("RESET")])
            #expect(connection.protocolVersion == .resp2)
        }
    }

    @Test func connectionCommands_thatClientsSend() throws {
        try withConnection { connection in
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
}
