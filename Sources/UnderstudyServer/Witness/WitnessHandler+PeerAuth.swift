import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Peer authentication on the witness port, when `--cluster-secret-file` is set: `PEERAUTH`
/// runs the server's end of the handshake, and every `WITNESS` request but STATUS (which an
/// operator reads) is refused on a connection whose node has not proved the secret — so a
/// process without it can neither heartbeat, vote, hand over nor force an epoch.
extension WitnessHandler {
    /// Answers `command` if it is the handshake or a `WITNESS` request this connection may
    /// not send; false for everything else.
    func answeredAsPeerOnly(_ command: Command, context: ChannelHandlerContext) -> Bool {
        let name = command.name
        let address = context.remoteAddress?.description ?? "?"
        if name == "peerauth", var handshake = peerHandshake {
            let outcome = handshake.receive(command.arguments, clusterID: state.witness.record?.clusterID,
                                            serverNonce: PeerAuthenticator.makeNonce)
            peerHandshake = handshake
            switch outcome {
            case .reply(let reply):
                send(reply, context: context, close: false)
            case .authenticated(let reply, _, _):
                isAuthenticatedPeer = true
                send(reply, context: context, close: false)
            case .refused(let reply, let reason):
                state.peerRefused(address: address, reason: reason, request: "PEERAUTH")
                send(reply, context: context, close: true)
            }
            return true
        }
        guard name == "witness", !isAuthenticatedPeer, !Self.isStatusRequest(command) else { return false }
        let verb = command.arguments.count > 1 ? String(decoding: command.arguments[1].prefix(16), as: UTF8.self).uppercased() : ""
        state.peerRefused(address: address, reason: PeerAuthResponder.notAuthenticatedLogMessage, request: "WITNESS \(verb)")
        send(PeerAuthResponder.notAuthenticatedReply, context: context, close: false)
        return true
    }

    private static func isStatusRequest(_ command: Command) -> Bool {
        command.arguments.count == 2 && command.arguments[1].count == 6
            && String(decoding: command.arguments[1], as: UTF8.self).uppercased() == "STATUS"
    }

    private func send(_ reply: Reply, context: ChannelHandlerContext, close: Bool) {
        var buffer = context.channel.allocator.buffer(capacity: 96)
        buffer.writeRESPReply(reply)
        let written = context.writeAndFlush(wrapOutboundOut(buffer))
        guard close else { return }
        let channel = context.channel
        written.whenComplete { _ in channel.close(promise: nil) }
    }
}
