public import UnderstudyCore

/// The client's end of the peer handshake (see `PeerAuthResponder` for the exchange): it
/// proves the secret only after the server sent its fresh nonce, and believes the server
/// only once the server's proof over both nonces checks out.
public struct PeerAuthInitiator: Sendable {
    private let authenticator: PeerAuthenticator
    private let link: PeerLink
    private let clientName: String
    private let clientNonce: [UInt8]
    private var transcript: PeerTranscript?

    /// `clientNonce` MUST be fresh for each connection (`PeerAuthenticator.makeNonce()`).
    public init(authenticator: PeerAuthenticator, link: PeerLink, clientName: String, clientNonce: [UInt8]) {
        self.authenticator = authenticator
        self.link = link
        self.clientName = clientName
        self.clientNonce = clientNonce
    }

    /// The first request: `PEERAUTH HELLO …`.
    public var hello: Command {
        Self.command(["HELLO", link.rawValue, clientName, HexBytes.encode(clientNonce)])
    }

    /// The answer to HELLO: returns `PEERAUTH PROVE …`.
    /// - Throws: `PeerAuthError` when the server refused or answered something else.
    public mutating func challenged(by reply: Reply) throws(PeerAuthError) -> Command {
        guard case .simple(let line) = reply else { throw Self.unexpected(reply) }
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 4, words[0] == "CHALLENGE",
              let serverNonce = HexBytes.decode(Array(words[3].utf8), count: PeerAuthenticator.nonceBytes) else {
            throw Self.unexpected(reply)
        }
        let transcript = PeerTranscript(link: link, clusterID: String(words[2]), serverNonce: serverNonce,
                                        clientNonce: clientNonce, clientName: clientName, serverName: String(words[1]))
        self.transcript = transcript
        return Self.command(["PROVE", HexBytes.encode(authenticator.proof(by: .client, of: transcript))])
    }

    /// The answer to PROVE: returns normally only if it carries the server's valid proof.
    public func confirmed(by reply: Reply) throws(PeerAuthError) {
        guard let transcript else { throw PeerAuthError(message: "the handshake was not challenged yet") }
        guard case .simple(let line) = reply else { throw Self.unexpected(reply) }
        let words = line.split(separator: " ")
        guard words.count == 2, words[0] == "OK",
              let proof = HexBytes.decode(Array(words[1].utf8), count: PeerAuthenticator.proofBytes) else {
            throw Self.unexpected(reply)
        }
        guard authenticator.verify(proof, by: .server, of: transcript) else {
            throw PeerAuthError(message: "\(transcript.serverName) could not prove the cluster secret")
        }
    }

    private static func command(_ words: [String]) -> Command {
        Command(arguments: ([PeerAuthResponder.commandName] + words).map { Array($0.utf8) })
    }

    private static func unexpected(_ reply: Reply) -> PeerAuthError {
        if case .error(let message) = reply {
            return PeerAuthError(message: "the peer refused the handshake: \(message.prefix(200)) (is --cluster-secret-file set on both?)")
        }
        return PeerAuthError(message: "the peer did not answer the handshake (\(String(describing: reply).prefix(120))): is --cluster-secret-file set on both?")
    }
}

/// Why the other end of a peer link was not trusted.
public struct PeerAuthError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
