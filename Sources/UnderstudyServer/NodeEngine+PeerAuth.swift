import Logging
import UnderstudyClient
import UnderstudyCore
import UnderstudyWire

/// The data node's side of peer authentication (docs/security.md, "Peer authentication"):
/// it proves the cluster secret to its primary, its witness and the peer it fences, and
/// checks the proofs of those that connect to it. Nothing here runs without a secret.
extension NodeEngine {
    var peerAuthenticator: PeerAuthenticator? {
        configuration.clusterSecret.map(PeerAuthenticator.init(secret:))
    }

    /// The handshake handler for a new outgoing link of kind `link` (nil: no secret). A
    /// primary that cannot prove the secret is a failed connection attempt to the node
    /// (retried as one); a witness that cannot is a witness link that closed.
    func peerAuthenticationHandler(for link: PeerLink) -> PeerAuthClientHandler? {
        guard let initiator = makePeerAuthInitiator(for: link) else { return nil }
        let engine = self
        return PeerAuthClientHandler(initiator: initiator, logger: logger) {
            engine.metrics.refused(.peerAuth)
            guard link == .replication else { return }
            engine.perform(engine.node.primaryLinkFailed(
                "the primary did not authenticate: is --cluster-secret-file set on both?", refused: false,
                nowMilliseconds: WallClock.monotonicMilliseconds()))
        }
    }

    func makePeerAuthInitiator(for link: PeerLink) -> PeerAuthInitiator? {
        guard let authenticator = peerAuthenticator else { return nil }
        return PeerAuthInitiator(authenticator: authenticator, link: link, clientName: nodeName,
                                 clientNonce: PeerAuthenticator.makeNonce())
    }

    /// The server's end of the handshake for one client-port connection (nil: no secret).
    func makePeerAuthResponder() -> PeerAuthResponder? {
        guard let authenticator = peerAuthenticator else { return nil }
        return PeerAuthResponder(authenticator: authenticator, serverName: nodeName, allowedLinks: [.replication, .fence])
    }

    /// A peer-only request or a handshake refused: logged with the peer's address, counted.
    func peerRefused(address: String, reason: String, request: String) {
        metrics.refused(.peerAuth)
        logger.warning("refused an unauthenticated peer", metadata: [
            "peer": "\(address)", "request": "\(request)", "reason": "\(reason)",
        ])
    }

    /// The commands to run on a fresh connection to the peer before `FENCE`: the handshake,
    /// checked both ways (nil: no secret, nothing to run).
    func fenceHandshake() -> NodeRequest.Prologue? {
        guard let initiator = makePeerAuthInitiator(for: .fence) else { return nil }
        return { exchange in
            var handshake = initiator
            let challenge = try await exchange(handshake.hello)
            let confirmation = try await exchange(try handshake.challenged(by: challenge))
            try handshake.confirmed(by: confirmation)
        }
    }
}
