public import NIOCore
public import UnderstudyCore

/// Decodes RESP2 replies from a server into `Reply`s: the NIO shell around `RESPReplyParser`,
/// for clients and tests.
///
/// At EOF a partial reply is dropped; the client sees the connection close.
public struct RESPReplyDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Reply

    private var parser: RESPReplyParser

    public init(limits: RESPLimits = .default) {
        self.parser = RESPReplyParser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let (consumedBytes, reply) = try buffer.withUnsafeReadableBytes {
            bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        buffer.moveReaderIndex(forwardBy: consumedBytes)
        guard let reply else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        let decodingState = try decode(context: context, buffer: &buffer)
        if case .needMoreData = decodingState {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            parser.reset()
        }
        return decodingState
    }
}
