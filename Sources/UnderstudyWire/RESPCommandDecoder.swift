public import NIOCore
public import UnderstudyCore

/// A resumable RESP parser: what `RESPParsingDecoder` drives. Parsing keeps its state across
/// calls, so a message arriving in many reads is never parsed again from its start.
public protocol RESPIncrementalParser: Sendable {
    associatedtype Message: Sendable
    init(limits: RESPLimits)
    /// Parses from the start of `bytes`; the caller MUST drop `consumedBytes` and pass the
    /// rest, with newly received bytes, to the next call.
    mutating func parseMessage(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (consumedBytes: Int, message: Message?)
    mutating func reset()
}

extension RESPCommandParser: RESPIncrementalParser {
    public mutating func parseMessage(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (consumedBytes: Int, message: Command?) {
        let (consumedBytes, command) = try parse(bytes)
        return (consumedBytes, command)
    }
}

extension RESPReplyParser: RESPIncrementalParser {
    public mutating func parseMessage(_ bytes: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (consumedBytes: Int, message: Reply?) {
        let (consumedBytes, reply) = try parse(bytes)
        return (consumedBytes, reply)
    }
}

/// Decodes client requests into `Command`s. On a protocol error it throws a
/// `RESPProtocolError`; `ByteToMessageHandler` fires it through `errorCaught` after every
/// command decoded before it. The server MUST reply with the error's `message` and close
/// the connection.
///
/// A concrete type, not a typealias of the generic decoder: `ByteToMessageHandler` calls
/// `decode` through the protocol witness, and a generic type's witness runs the unspecialized
/// code, which looks up type metadata on every request. Here the compiler specializes it.
public struct RESPCommandDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Command

    private var decoder: RESPParsingDecoder<RESPCommandParser>

    public init(limits: RESPLimits = .default) {
        decoder = RESPParsingDecoder(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decoder.decode(context: context, buffer: &buffer)
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}

/// Decodes RESP2 replies from a server into `Reply`s, for clients and tests.
public typealias RESPReplyDecoder = RESPParsingDecoder<RESPReplyParser>

/// The NIO shell around a RESP parser. At EOF a partial message is dropped silently: the
/// peer is gone and cannot read an answer.
public struct RESPParsingDecoder<Parser: RESPIncrementalParser>: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Parser.Message

    private var parser: Parser

    public init(limits: RESPLimits = .default) {
        self.parser = Parser(limits: limits)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let (consumedBytes, message) = try buffer.withUnsafeReadableBytes {
            bytes throws(RESPProtocolError) in try parser.parseMessage(bytes)
        }
        buffer.moveReaderIndex(forwardBy: consumedBytes)
        guard let message else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        let decodingState = try decode(context: context, buffer: &buffer)
        if case .needMoreData = decodingState {
            // What is left can never become a message: drop it.
            buffer.moveReaderIndex(to: buffer.writerIndex)
            parser.reset()
        }
        return decodingState
    }
}
