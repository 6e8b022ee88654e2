import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct RESPReplyDecoderTests {
    private static let replies: [Reply] = [
        .ok, .simple(""), .error("ERR wrong"), .integer(0), .integer(-1), .integer(.max),
        .nullBulk, .bulk([]), .bulk("value"), .bulk([0x00, 0x0D, 0x0A, 0xFF]),
        .array(nil), .array([]), .array([.bulk("k"), .nullBulk]),
        .array([.integer(1), .array([.array([]), .array(nil), .array([.simple("deep")])]), .error("ERR e")]),
    ]

    @Test func verifier_decodesEveryEncodedReply() throws {
        let pairs = Self.replies.map { reply -> (ByteBuffer, [Reply]) in
            var buffer = ByteBuffer()
            buffer.writeRESPReply(reply)
            return (buffer, [reply])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { RESPReplyDecoder() }
    }

    @Test func roundTrip_ofAllRepliesInOneBuffer_preservesOrder() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        var buffer = ByteBuffer()
        for reply in Self.replies { buffer.writeRESPReply(reply) }
        try channel.writeInbound(buffer)
        var decoded: [Reply] = []
        while let reply = try channel.readInbound(as: Reply.self) { decoded.append(reply) }
        #expect(decoded == Self.replies)
        #expect(try channel.finish().isClean)
    }

    @Test func partialReplyAtEOF_isDropped() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        try channel.writeInbound(buffer("+OK\r\n*2\r\n:1\r\n"))
        #expect(try channel.readInbound(as: Reply.self) == .ok)
        #expect(try channel.finish().isClean)
    }

    @Test func protocolError_isThrown() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        #expect(throws: RESPProtocolError.self) { try channel.writeInbound(buffer("!oops\r\n")) }
        _ = try? channel.finish()
    }
}
