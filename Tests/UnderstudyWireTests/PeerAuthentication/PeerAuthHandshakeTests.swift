import Testing
import UnderstudyCore
import UnderstudyWire

/// The whole exchange between `PeerAuthInitiator` and `PeerAuthResponder`, without sockets.
@Suite struct PeerAuthHandshakeTests {
    static func authenticator(_ text: String = "0123456789abcdef0123456789abcdef") -> PeerAuthenticator {
        PeerAuthenticator(secret: try! ClusterSecret(fileContents: Array(text.utf8)))
    }

    static func responder(_ authenticator: PeerAuthenticator = authenticator()) -> PeerAuthResponder {
        PeerAuthResponder(authenticator: authenticator, serverName: "127.0.0.1:7002", allowedLinks: [.replication, .fence])
    }

    static func initiator(_ authenticator: PeerAuthenticator = authenticator(), link: PeerLink = .replication) -> PeerAuthInitiator {
        PeerAuthInitiator(authenticator: authenticator, link: link, clientName: "127.0.0.1:7001",
                          clientNonce: PeerAuthenticator.makeNonce())
    }

    static let clusterID = "00112233445566778899aabbccddeeff"

    /// The reply of an outcome that goes on or succeeds.
    static func reply(_ outcome: PeerAuthResponder.Outcome) -> Reply? {
        switch outcome {
        case .reply(let reply), .authenticated(let reply, _, _): reply
        case .refused: nil
        }
    }

    /// Sends the client's HELLO to the server and returns the challenge.
    static func challenge(_ server: inout PeerAuthResponder, from client: PeerAuthInitiator, clusterID: String? = PeerAuthHandshakeTests.clusterID) throws -> Reply {
        try #require(reply(server.receive(client.hello.arguments, clusterID: clusterID, serverNonce: PeerAuthenticator.makeNonce)))
    }

    @Test func sameSecret_authenticatesBothWays() throws {
        var server = Self.responder()
        var client = Self.initiator()
        let challenge = try Self.challenge(&server, from: client)
        let prove = try client.challenged(by: challenge)
        let outcome = server.receive(prove.arguments, clusterID: Self.clusterID, serverNonce: PeerAuthenticator.makeNonce)
        guard case .authenticated(let confirmation, let link, let name) = outcome else {
            Issue.record("expected authenticated, got \(outcome)")
            return
        }
        #expect(link == .replication && name == "127.0.0.1:7001")
        #expect(server.authenticatedLink == .replication)
        try client.confirmed(by: confirmation)
    }

    @Test func clientWithWrongSecret_isRefused() throws {
        var server = Self.responder()
        var client = Self.initiator(Self.authenticator("the-wrong-secret-of-enough-bytes"))
        let challenge = try Self.challenge(&server, from: client, clusterID: nil)
        let outcome = server.receive(try client.challenged(by: challenge).arguments, clusterID: nil,
                                     serverNonce: PeerAuthenticator.makeNonce)
        guard case .refused = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        #expect(server.authenticatedLink == nil)
    }

    @Test func serverWithWrongSecret_isNotBelieved() throws {
        let impostor = Self.authenticator("the-wrong-secret-of-enough-bytes")
        var server = Self.responder(impostor)
        var client = Self.initiator()
        let challenge = try Self.challenge(&server, from: client, clusterID: nil)
        _ = try client.challenged(by: challenge)
        // The impostor answers with the best it can make: a proof with its own secret.
        let words = challenge.simpleText.split(separator: " ")
        let transcript = PeerTranscript(link: .replication, clusterID: String(words[2]),
                                        serverNonce: try #require(HexBytes.decode(Array(words[3].utf8), count: 32)),
                                        clientNonce: try #require(HexBytes.decode(client.hello.arguments[4], count: 32)),
                                        clientName: "127.0.0.1:7001", serverName: String(words[1]))
        let forged = Reply.simple("OK \(HexBytes.encode(impostor.proof(by: .server, of: transcript)))")
        #expect(throws: PeerAuthError.self) { try client.confirmed(by: forged) }
    }

    @Test func replayedProof_onNewConnection_isRefused() throws {
        var first = Self.responder()
        var client = Self.initiator()
        let challenge = try Self.challenge(&first, from: client)
        let prove = try client.challenged(by: challenge)
        // An eavesdropper replays the captured HELLO and PROVE on a new connection.
        var second = Self.responder()
        _ = second.receive(client.hello.arguments, clusterID: Self.clusterID, serverNonce: PeerAuthenticator.makeNonce)
        guard case .refused = second.receive(prove.arguments, clusterID: Self.clusterID, serverNonce: PeerAuthenticator.makeNonce) else {
            Issue.record("a replayed proof was accepted")
            return
        }
        #expect(second.authenticatedLink == nil)
    }

    @Test func linkNotServedHere_isRefused() {
        var server = Self.responder()
        let client = Self.initiator(link: .witness)
        guard case .refused = server.receive(client.hello.arguments, clusterID: nil, serverNonce: PeerAuthenticator.makeNonce) else {
            Issue.record("a witness handshake was accepted on the client port")
            return
        }
    }

    @Test func proveBeforeHello_isRefused() {
        var server = Self.responder()
        let prove = Command(arguments: ["PEERAUTH", "PROVE", String(repeating: "00", count: 32)].map { Array($0.utf8) })
        guard case .refused = server.receive(prove.arguments, clusterID: nil, serverNonce: PeerAuthenticator.makeNonce) else {
            Issue.record("PROVE without a challenge was accepted")
            return
        }
    }

    @Test func serverWithoutSecret_tellsTheClientWhy() {
        var client = Self.initiator()
        #expect {
            _ = try client.challenged(by: .error("ERR unknown command 'PEERAUTH'"))
        } throws: { error in
            "\(error)".contains("--cluster-secret-file")
        }
    }
}

extension Reply {
    /// The text of a simple-string reply ("" for any other).
    fileprivate var simpleText: String {
        if case .simple(let text) = self { return text }
        return ""
    }
}
