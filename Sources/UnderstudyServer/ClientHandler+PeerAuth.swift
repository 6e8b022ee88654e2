import Logging
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Peer authentication on the client port, when `--cluster-secret-file` is set: `PEERAUTH`
/// runs the server's end of the handshake, and the peer-only requests — a standby's
/// `REPLICATE`, a node's `FENCE` — are refused on a connection that has not proved the
/// secret. Without a secret none of this runs and nothing changes.
extension ClientHandler {
    /// Requests only a cluster member may send here.
    static let peerOnlyCommands: Set<String> = ["replicate", "fence"]
    /// The lengths of `PEERAUTH` and of the peer-only command names.
    private static let peerCommandLengths: Set<Int> = Set((peerOnlyCommands.union(["peerauth"])).map(\.utf8.count))

    /// Answers `command` if it is the handshake or a peer-only request the connection may not
    /// send; returns false for everything else (dispatched as usual).
    func handlePeerAuthentication(_ command: Command, context: ChannelHandlerContext) -> Bool {
        // By length first: `name` allocates, and every client command passes here.
        guard let first = command.arguments.first, Self.peerCommandLengths.contains(first.count) else { return false }
        let name = command.name
        if name == "peerauth" {
            answerPeerHandshake(command, context: context)
            return true
        }
        guard Self.peerOnlyCommands.contains(name), !session.isAuthenticatedPeer else { return false }
        engine.peerRefused(address: session.remoteAddress, reason: PeerAuthResponder.notAuthenticatedLogMessage,
                           request: name.uppercased())
        enqueue(PeerAuthResponder.notAuthenticatedReply, requiredLSN: .zero)
        return true
    }

    private func answerPeerHandshake(_ command: Command, context: ChannelHandlerContext) {
        guard var handshake = session.peerHandshake ?? engine.makePeerAuthResponder() else { return }
        let outcome = handshake.receive(command.arguments, clusterID: engine.node.coordinator?.clusterID,
                                        serverNonce: PeerAuthenticator.makeNonce)
        session.peerHandshake = handshake
        switch outcome {
        case .reply(let reply):
            enqueue(reply, requiredLSN: .zero)
        case .authenticated(let reply, let link, let clientName):
            session.isAuthenticatedPeer = true
            engine.logger.debug("peer authenticated", metadata: [
                "peer": "\(session.remoteAddress)", "name": "\(clientName)", "link": "\(link.rawValue)",
            ])
            enqueue(reply, requiredLSN: .zero)
        case .refused(let reply, let reason):
            engine.peerRefused(address: session.remoteAddress, reason: reason, request: "PEERAUTH")
            enqueue(reply, requiredLSN: .zero)
            isClosing = true
        }
    }
}
