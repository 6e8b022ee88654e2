import NIOCore
import NIOEmbedded
import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct RESPReplyEncoderTests {
    @Test func outboundReplies_areWrittenAsRESP() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(RESPReplyEncoder()))
        try channel.writeOutbound(Reply.ok)
        try channel.writeOutbound(Reply.array([.integer(1), .nullBulk]))
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) {
            written.writeBuffer(&part)
        }
        #expect(String(buffer: written) == "+OK\r\n*2\r\n:1\r\n$-1\r\n")
        #expect(try channel.finish().isClean)
    }
}
