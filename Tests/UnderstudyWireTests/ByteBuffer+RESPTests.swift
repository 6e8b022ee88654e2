import NIOCore
import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct ByteBufferRESPTests {
    @Test func simpleAndErrorReplies_areOneLine() {
        #expect(encoded(.ok) == "+OK\r\n")
        #expect(encoded(.simple("PONG")) == "+PONG\r\n")
        #expect(encoded(.simple("")) == "+\r\n")
        #expect(encoded(.error("ERR syntax error")) == "-ERR syntax error\r\n")
        #expect(encoded(.simple("héllo")) == "+héllo\r\n")
    }

    @Test func lineBreaksInStatusOrErrorText_becomeSpaces() {
        #expect(encoded(.error("ERR unknown command 'a\r\n+OK'")) == "-ERR unknown command 'a  +OK'\r\n")
        #expect(encoded(.simple("a\nb\rc")) == "+a b c\r\n")
    }

    @Test(arguments: [
        (Int64(0), ":0\r\n"), (9, ":9\r\n"), (10, ":10\r\n"), (42, ":42\r\n"), (99, ":99\r\n"), (100, ":100\r\n"),
        (-1, ":-1\r\n"), (-10, ":-10\r\n"), (1_000_000_007, ":1000000007\r\n"),
        (Int64.max, ":9223372036854775807\r\n"), (Int64.min, ":-9223372036854775808\r\n"),
        (999_999_999_999_999_999, ":999999999999999999\r\n"), (1_000_000_000_000_000_000, ":1000000000000000000\r\n"),
    ])
    func integers_areWrittenInDecimal(value: Int64, expected: String) {
        #expect(encoded(.integer(value)) == expected)
    }

    @Test func integers_matchTheirDescription_acrossMagnitudes() {
        var value: Int64 = 1
        for _ in 0..<19 {
            for candidate in [value - 1, value, value + 1, -value] {
                #expect(encoded(.integer(candidate)) == ":\(candidate)\r\n")
            }
            if value > Int64.max / 10 { break }
            value *= 10
        }
    }

    @Test func bulkReplies_carryTheirLength() {
        #expect(encoded(.nullBulk) == "$-1\r\n")
        #expect(encoded(.bulk([])) == "$0\r\n\r\n")
        #expect(encoded(.bulk("hello")) == "$5\r\nhello\r\n")
        #expect(encoded(.bulk(bytes("a\r\nb"))) == "$4\r\na\r\nb\r\n")
        let large = [UInt8](repeating: 0x61, count: 12_345)
        #expect(encoded(.bulk(large)) == "$12345\r\n" + String(repeating: "a", count: 12_345) + "\r\n")
    }

    @Test func storedBulkReply_isWrittenAsTheSameBulk_inBothProtocols() {
        var keyspace = Keyspace()
        var random = SystemRandomNumberGenerator()
        let value: [UInt8] = [0, 13, 10, 255] + bytes("stored")
        _ = keyspace.execute(Command(arguments: [bytes("SET"), bytes("k"), value]), nowMilliseconds: 0, random: &random)
        let reply = keyspace.execute(Command("GET", "k"), nowMilliseconds: 0, random: &random).reply
        guard case .storedBulk = reply else {
            Issue.record("GET replied \(reply), not a stored bulk")
            return
        }
        for version in [ProtocolVersion.resp2, .resp3] {
            var stored = ByteBuffer()
            var copied = ByteBuffer()
            stored.writeRESPReply(reply, protocol: version)
            copied.writeRESPReply(.bulk(value), protocol: version)
            #expect(stored == copied)
        }
    }

    @Test func bulkReply_isBinarySafe() {
        var buffer = ByteBuffer()
        buffer.writeRESPReply(.bulk([0x00, 0xFF, 0x0D]))
        #expect(Array(buffer.readableBytesView) == bytes("$3\r\n") + [0x00, 0xFF, 0x0D] + bytes("\r\n"))
    }

    @Test func arrays_includingNullAndEmpty() {
        #expect(encoded(.array(nil)) == "*-1\r\n")
        #expect(encoded(.array([])) == "*0\r\n")
        #expect(encoded(.array([.bulk("a"), .integer(1)])) == "*2\r\n$1\r\na\r\n:1\r\n")
    }

    @Test func nestedArrays_areWrittenDepthFirst() {
        let reply = Reply.array([
            .integer(1),
            .array([.bulk("a"), .nullBulk, .array([])]),
            .array(nil),
            .error("ERR x"),
            .simple("OK"),
        ])
        #expect(encoded(reply) == "*5\r\n:1\r\n*3\r\n$1\r\na\r\n$-1\r\n*0\r\n*-1\r\n-ERR x\r\n+OK\r\n")
    }

    @Test func writeRESPReply_appendsToExistingContent() {
        var buffer = ByteBuffer(string: "+PONG\r\n")
        buffer.writeRESPReply(.integer(7))
        buffer.writeRESPReply(.ok)
        #expect(String(buffer: buffer) == "+PONG\r\n:7\r\n+OK\r\n")
    }

    @Test func commands_areWrittenAsMultibulk() {
        #expect(encoded(Command("SET", "k", "v")) == bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"))
        #expect(encoded(Command(arguments: [bytes("ECHO"), []])) == bytes("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"))
    }

    @Test func writtenCommands_parseBackToTheSameCommand() throws {
        let command = Command(arguments: [bytes("SET"), [0x00, 0x0D, 0x0A], bytes("\"quoted\" 'x'")])
        #expect(try parseCommands(encoded(command)).commands == [command])
    }

    @Test func readRESPReply_readsOneCompleteReply() throws {
        var input = buffer("*2\r\n$1\r\na\r\n:5\r\n+OK\r\n")
        #expect(try input.readRESPReply() == .array([.bulk("a"), .integer(5)]))
        #expect(try input.readRESPReply() == .ok)
        #expect(try input.readRESPReply() == nil)
        #expect(input.readableBytes == 0)
    }

    @Test func readRESPReply_onPartialInput_readsNothing() throws {
        var input = buffer("*2\r\n$1\r\na\r\n:5")
        #expect(try input.readRESPReply() == nil)
        #expect(input.readableBytes == 13)
    }

    @Test(arguments: [
        Reply.ok, .simple("PONG"), .error("ERR no"), .integer(0), .integer(-42), .integer(.max), .integer(.min),
        .nullBulk, .bulk([]), .bulk("value"), .bulk([0x00, 0x0D, 0x0A, 0xFF]), .array(nil), .array([]),
        .array([.bulk("a"), .array([.integer(1), .array([.nullBulk, .array(nil)])]), .error("ERR x")]),
    ])
    func encodedReply_readsBackAsTheSameReply(reply: Reply) throws {
        var buffer = ByteBuffer()
        buffer.writeRESPReply(reply)
        #expect(try buffer.readRESPReply() == reply)
        #expect(buffer.readableBytes == 0)
    }
}
