import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct RESPCommandDecoderTests {
    private func makeChannel(limits: RESPLimits = .default) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(RESPCommandDecoder(limits: limits)))
    }

    private func readAll(_ channel: EmbeddedChannel) throws -> [Command] {
        var commands: [Command] = []
        while let command = try channel.readInbound(as: Command.self) {
            commands.append(command)
        }
        return commands
    }

    @Test func verifier_acceptsMultibulkAndInlineRequests() throws {
        let pairs: [(ByteBuffer, [Command])] = [
            (buffer("*1\r\n$4\r\nPING\r\n"), [Command("PING")]),
            (buffer("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"), [Command("SET", "key", "value")]),
            (buffer("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"), [Command(arguments: [bytes("ECHO"), []])]),
            (buffer("*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\r\n\r\n"), [Command("ECHO", "\r\n\r\n")]),
            (buffer("PING\r\n"), [Command("PING")]),
            (buffer("SET k \"a b\\x21\" 'c d'\r\n"), [Command("SET", "k", "a b!", "c d")]),
            (buffer("GET k\n"), [Command("GET", "k")]),
            (buffer("*1\r\n$1\r\na\r\nb\r\n"), [Command("a"), Command("b")]),
            (buffer("\r\n"), []),
            (buffer("*0\r\n"), []),
            (buffer("*-1\r\n"), []),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { RESPCommandDecoder() }
    }

    @Test func verifier_acceptsRequestsExactlyAtSmallLimits() throws {
        let limits = RESPLimits(maxBulkBytes: 3, maxArguments: 2, maxRequestBytes: 19, maxInlineBytes: 7)
        let exact: [(ByteBuffer, [Command])] = [
            (buffer("*2\r\n$0\r\n\r\n$3\r\nabc\r\n"), [Command(arguments: [[], bytes("abc")])]),  // 4 + 6 + 9 = 19
            (buffer("GET abc\r\n"), [Command("GET", "abc")]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: exact) { RESPCommandDecoder(limits: limits) }
    }

    @Test func protocolError_isThrownAfterTheCommandsBeforeIt() throws {
        let channel = makeChannel()
        #expect(throws: RESPProtocolError.self) {
            try channel.writeInbound(buffer("PING\r\n*1\r\n$x\r\n"))
        }
        #expect(try readAll(channel) == [Command("PING")])
        _ = try? channel.finish()
    }

    @Test func protocolError_carriesTheRedisMessage() throws {
        let channel = makeChannel(limits: RESPLimits(maxBulkBytes: 10))
        do {
            try channel.writeInbound(buffer("*1\r\n$11\r\n"))
            Issue.record("expected a protocol error")
        } catch let error as RESPProtocolError {
            #expect(error.message == "ERR Protocol error: bulk length 11 exceeds the limit of 10 bytes (--max-bulk-bytes)")
            #expect(error.code == .bulkTooLarge)
        }
        _ = try? channel.finish()
    }

    @Test func partialRequestAtEOF_isDroppedWithoutError() throws {
        let channel = makeChannel()
        try channel.writeInbound(buffer("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1"))
        #expect(try readAll(channel) == [Command("PING")])
        let leftOvers = try channel.finish()
        #expect(leftOvers.isClean)
    }

    @Test func partialInlineLineAtEOF_isDroppedWithoutError() throws {
        let channel = makeChannel()
        try channel.writeInbound(buffer("PING\r\nPIN"))
        #expect(try readAll(channel) == [Command("PING")])
        #expect(try channel.finish().isClean)
    }

    @Test func largeMultibulkInManyChunks_isDecodedInFull() throws {
        let argumentCount = 100_000
        let arguments = (0..<argumentCount).map { Array("argument-\($0)".utf8) }
        let request = encoded(Command(arguments: [bytes("MSET")] + arguments))
        let channel = makeChannel()
        let chunkSize = 4096
        var offset = 0
        while offset < request.count {
            let end = min(request.count, offset + chunkSize)
            try channel.writeInbound(buffer(Array(request[offset..<end])))
            if end < request.count {
                #expect(try channel.readInbound(as: Command.self) == nil)
            }
            offset = end
        }
        let command = try #require(try channel.readInbound(as: Command.self))
        #expect(command.arguments.count == argumentCount + 1)
        #expect(command.arguments.last == bytes("argument-\(argumentCount - 1)"))
        #expect(command.arguments == [bytes("MSET")] + arguments)
        #expect(try channel.finish().isClean)
    }

    @Test func largeBulkInManyChunks_isDecodedInFull() throws {
        let value = [UInt8](repeating: 0x78, count: 1_000_000)
        let request = encoded(Command(arguments: [bytes("SET"), bytes("k"), value]))
        let channel = makeChannel()
        var offset = 0
        while offset < request.count {
            let end = min(request.count, offset + 65_536)
            try channel.writeInbound(buffer(Array(request[offset..<end])))
            offset = end
        }
        #expect(try readAll(channel) == [Command(arguments: [bytes("SET"), bytes("k"), value])])
        #expect(try channel.finish().isClean)
    }
}
