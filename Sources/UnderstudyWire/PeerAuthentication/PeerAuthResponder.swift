public import UnderstudyCore

/// The server's end of the peer handshake on one connection (the client port or the
/// witness port), a value the connection's handler keeps and feeds every `PEERAUTH`:
///
/// ```
/// → PEERAUTH HELLO <link> <client-name> <client-nonce>
/// ← +CHALLENGE <server-name> <cluster-id|-> <server-nonce>
/// → PEERAUTH PROVE <client-proof>
/// ← +OK <server-proof>                  (or -PEERAUTH …, and the connection closes)
/// ```
/// The server's nonce is new for each connection and is used once, so a client proof
/// captured on one connection proves nothing on another.
public struct PeerAuthResponder: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Send the reply; the handshake goes on.
        case reply(Reply)
        /// Send the reply: from now on the connection is an authenticated peer for `link`.
        case authenticated(Reply, link: PeerLink, clientName: String)
        /// Send the reply, log `reason` with the peer's address, count it, close the connection.
        case refused(Reply, reason: String)
    }

    private enum State: Sendable {
        case awaitingHello
        case challenged(PeerTranscript)
        case authenticated(PeerLink)
        case refused
    }

    public static let commandName = "PEERAUTH"
    private let authenticator: PeerAuthenticator
    private let serverName: String
    private let allowedLinks: Set<PeerLink>
    private var state = State.awaitingHello

    public init(authenticator: PeerAuthenticator, serverName: String, allowedLinks: Set<PeerLink>) {
        self.authenticator = authenticator
        self.serverName = serverName
        self.allowedLinks = allowedLinks
    }

    /// The link this connection proved itself for (nil: not, or not yet).
    public var authenticatedLink: PeerLink? {
        if case .authenticated(let link) = state { return link }
        return nil
    }

    /// One `PEERAUTH …` request. `clusterID` is the identity this server holds now;
    /// `serverNonce` is asked for only when a challenge is made, and MUST come from a CSPRNG.
    public mutating func receive(_ arguments: [[UInt8]], clusterID: String?, serverNonce: () -> [UInt8]) -> Outcome {
        let verb = arguments.count > 1 ? String(decoding: arguments[1], as: UTF8.self).uppercased() : ""
        switch (state, verb, arguments.count) {
        case (.awaitingHello, "HELLO", 5):
            guard let link = PeerLink(rawValue: String(decoding: arguments[2], as: UTF8.self)), allowedLinks.contains(link) else {
                return refuse("this port takes no peer link '\(String(decoding: arguments[2].prefix(32), as: UTF8.self))'")
            }
            guard let clientNonce = HexBytes.decode(arguments[4], count: PeerAuthenticator.nonceBytes) else {
                return refuse("the client nonce is not \(PeerAuthenticator.nonceBytes) bytes in hexadecimal")
            }
            let clientName = String(decoding: arguments[3].prefix(256), as: UTF8.self)
            let transcript = PeerTranscript(link: link, clusterID: clusterID ?? "-", serverNonce: serverNonce(),
                                            clientNonce: clientNonce, clientName: clientName, serverName: serverName)
            state = .challenged(transcript)
            return .reply(.simple("CHALLENGE \(serverName) \(transcript.clusterID) \(HexBytes.encode(transcript.serverNonce))"))
        case (.challenged(let transcript), "PROVE", 3):
            guard let proof = HexBytes.decode(arguments[2], count: PeerAuthenticator.proofBytes),
                  authenticator.verify(proof, by: .client, of: transcript) else {
                return refuse("peer \(transcript.clientName) did not prove the cluster secret (wrong secret, or a replayed handshake)")
            }
            state = .authenticated(transcript.link)
            let answer = authenticator.proof(by: .server, of: transcript)
            return .authenticated(.simple("OK \(HexBytes.encode(answer))"), link: transcript.link, clientName: transcript.clientName)
        default:
            return refuse("unexpected PEERAUTH \(verb.prefix(16)) with \(arguments.count - 1) arguments at this point of the handshake")
        }
    }

    private mutating func refuse(_ reason: String) -> Outcome {
        state = .refused
        return .refused(.error("PEERAUTH refused: \(reason)"), reason: reason)
    }

    /// The reply to a peer-only request on a connection that has not authenticated.
    public static let notAuthenticatedReply = Reply.error(
        "NOPEERAUTH this request is taken only from an authenticated peer: peer did not authenticate: is --cluster-secret-file set on both?")
    public static let notAuthenticatedLogMessage = "peer did not authenticate: is --cluster-secret-file set on both?"
}
