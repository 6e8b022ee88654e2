import Logging
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// What a standby reads from its primary: one RESP reply line (the handshake's answer),
/// then binary replication frames.
enum StandbyInbound {
    case handshakeReply(Reply)
    case frame(ReplicationFrame)
}

/// Decodes the primary's side of a replication connection.
struct StandbyLinkDecoder: ByteToMessageDecoder {
    typealias InboundOut = StandbyInbound
    private var handshakeAnswered = false
    /// The standby sent `AUTH` before `REPLICATE` (`NodeEngine.peerPassword`): its `+OK` comes
    /// first and is dropped; a refusal is passed on as the handshake's answer.
    private var authenticationReplyPending: Bool

    init(sentAuthentication: Bool = false) {
        self.authenticationReplyPending = sentAuthentication
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if authenticationReplyPending {
            guard let reply = try buffer.readRESPReply() else { return .needMoreData }
            authenticationReplyPending = false
            if case .error = reply {
                handshakeAnswered = true
                context.fireChannelRead(wrapInboundOut(.handshakeReply(reply)))
            }
            return .continue
        }
        if !handshakeAnswered {
            guard let reply = try buffer.readRESPReply() else { return .needMoreData }
            handshakeAnswered = true
            context.fireChannelRead(wrapInboundOut(.handshakeReply(reply)))
            return .continue
        }
        guard let frame = try ReplicationFrameDecoder.readFrame(from: &buffer, maxFrameBytes: NodeLimits.standard.maxReplicationFrameBytes) else {
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(.frame(frame)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        if case .needMoreData = state { buffer.moveReaderIndex(to: buffer.writerIndex) }
        return state
    }
}

/// The standby's end of the link: hands everything to the engine.
final class StandbyLinkHandler: ChannelInboundHandler {
    typealias InboundIn = StandbyInbound
    typealias OutboundOut = ByteBuffer
    private let engine: NodeEngine

    init(engine: NodeEngine) {
        self.engine = engine
    }

    func channelActive(context: ChannelHandlerContext) {
        engine.primaryLinkOpened(context.channel)  // the engine writes the handshake the node asks for
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .handshakeReply(let reply): engine.primaryAnsweredHandshake(context.channel, reply: reply)
        case .frame(let frame): engine.primarySent(context.channel, frame: frame)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        engine.primaryLinkClosed(context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        engine.primaryLinkFailed(context.channel, "replication link error: \(error)")
    }
}

/// The primary's end of a standby's link, after `REPLICATE` was accepted: acknowledgements in.
final class PrimaryLinkHandler: ChannelInboundHandler {
    typealias InboundIn = ReplicationFrame
    private let engine: NodeEngine

    init(engine: NodeEngine) {
        self.engine = engine
    }

    func handlerAdded(context: ChannelHandlerContext) {
        engine.standbyStreamStarted(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .acknowledge(let epoch, let durableLSN, _):
            engine.standbyAcknowledged(context.channel, durableLSN: durableLSN, frameEpoch: epoch)
        case .heartbeatEcho(let epoch, let sentAt):
            engine.standbyEchoed(context.channel, sentAt: sentAt, frameEpoch: epoch)
        case .error(_, let message):
            engine.logger.warning("the standby ended the stream", metadata: ["reason": "\(message)"])
            context.close(promise: nil)
        default:
            engine.logger.warning("unexpected frame from the standby; closing its link")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        engine.standbyLinkClosed(context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        engine.logger.warning("standby link error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
