public import NIOCore
public import UnderstudyCore

/// Decodes client requests from the byte stream into `Command`s: the NIO shell around
/// `RESPCommandParser`.
///
/// On a protocol error it throws a `RESPProtocolError`; `ByteToMessageHandler` then fires it
/// through `errorCaught` after every command decoded before it. The server MUST reply with
/// the error's `message` and close the connection. At EOF a partial request is dropped
/// silently: its client is gone and cannot read a reply.
public struct RESPCommandDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Command

    private var parser: RESPCommandParser

    public init(limits: RESPLimits = .default) {
        self.parser = RESPCommandParser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let (consumedBytes, command) = try buffer.withUnsafeReadableBytes {
            bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        buffer.moveReaderIndex(forwardBy: consumedBytes)
        guard let command else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(command))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        let decodingState = try decode(context: context, buffer: &buffer)
        if case .needMoreData = decodingState {
            // What is left can never become a request: drop it.
            buffer.moveReaderIndex(to: buffer.writerIndex)
            parser.reset()
        }
        return decodingState
    }
}
