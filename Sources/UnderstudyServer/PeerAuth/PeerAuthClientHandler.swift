import Logging
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Runs the client's end of the peer handshake (`PeerAuthInitiator`) first on a new link —
/// a standby's link to its primary, a node's link to the witness — before anything behind
/// it sees the connection: it holds back `channelActive` and every write from the handlers
/// behind it until the server has proved the cluster secret, then steps out of the pipeline.
/// If the server cannot prove it, the connection closes and nothing was sent but the
/// handshake (the link's own code sees only a link that closed).
///
/// MUST be the first handler, before the link's decoders: it reads raw bytes.
final class PeerAuthClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case awaitingChallenge
        case awaitingConfirmation
        case done
    }

    private var initiator: PeerAuthInitiator
    private let logger: Logger
    private let onRefused: @Sendable () -> Void
    private var step = Step.awaitingChallenge
    private var received: ByteBuffer?
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []

    /// `onRefused` is called once when the server fails to authenticate (for the metrics).
    init(initiator: PeerAuthInitiator, logger: Logger, onRefused: @escaping @Sendable () -> Void) {
        self.initiator = initiator
        self.logger = logger
        self.onRefused = onRefused
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeRESPCommand(initiator.hello)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .done = step else {
            heldWrites.append((unwrapOutboundIn(data), promise))
            return
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if case .done = step { context.flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard case .done = step else {
            if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
            advance(context: context)
            return
        }
        context.fireChannelRead(data)
    }

    private func advance(context: ChannelHandlerContext) {
        do {
            while step != .done, var buffer = received, let reply = try buffer.readRESPReply() {
                received = buffer
                switch step {
                case .awaitingChallenge:
                    var request = context.channel.allocator.buffer(capacity: 128)
                    request.writeRESPCommand(try initiator.challenged(by: reply))
                    context.writeAndFlush(wrapOutboundOut(request), promise: nil)
                    step = .awaitingConfirmation
                case .awaitingConfirmation:
                    try initiator.confirmed(by: reply)
                    finish(context: context)
                case .done:
                    break
                }
            }
        } catch {
            refuse(context: context, reason: "\(error)")
        }
    }

    /// Authenticated: the link's own handlers see the connection open, then its writes go out.
    private func finish(context: ChannelHandlerContext) {
        step = .done
        let leftover = received
        received = nil
        context.fireChannelActive()
        for (buffer, promise) in heldWrites { context.write(wrapOutboundOut(buffer), promise: promise) }
        heldWrites.removeAll()
        context.flush()
        if let leftover, leftover.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(leftover)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(context: ChannelHandlerContext, reason: String) {
        logger.warning("peer did not authenticate; closing the link", metadata: [
            "peer": "\(context.remoteAddress?.description ?? "?")", "reason": "\(reason)",
        ])
        onRefused()
        step = .awaitingChallenge
        received = nil
        for (_, promise) in heldWrites { promise?.fail(ChannelError.ioOnClosedChannel) }
        heldWrites.removeAll()
        context.close(promise: nil)
    }
}
