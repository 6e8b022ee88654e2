import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct RESPReplyParserTests {
    @Test func everyReplyType_isParsed_wholeAndByteByByte() throws {
        let input = "+OK\r\n-ERR bad\r\n:-12\r\n$3\r\nabc\r\n$-1\r\n$0\r\n\r\n*-1\r\n*0\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n"
        let expected: [Reply] = [
            .ok, .error("ERR bad"), .integer(-12), .bulk("abc"), .nullBulk, .bulk([]), .array(nil), .array([]),
            .array([.integer(1), .array([.bulk("x")])]),
        ]
        #expect(try parseReplies(bytes(input)) == expected)
        #expect(try parseReplies(bytes(input), chunkSize: 1) == expected)
        #expect(try parseReplies(bytes(input), chunkSize: 3) == expected)
    }

    @Test(arguments: ["+OK", "+OK\r", "$3\r\nab", "$3\r\nabc\r", "*2\r\n:1\r\n", "*2\r\n*1\r\n:1\r\n", ":1"])
    func truncatedReply_producesNothing(input: String) throws {
        #expect(try parseReplies(bytes(input)).isEmpty)
        #expect(try parseReplies(bytes(input), chunkSize: 1).isEmpty)
    }

    @Test func largeArrayInManyChunks_isParsedInFull() throws {
        let elements = (0..<50_000).map { Reply.bulk("element-\($0)") }
        var input: [UInt8] = []
        for reply in [Reply.array(elements), .ok] {
            input += Array(encoded(reply).utf8)
        }
        #expect(try parseReplies(input, chunkSize: 4096) == [.array(elements), .ok])
    }

    @Test func integerReply_coversTheFullRange() throws {
        #expect(try parseReplies(bytes(":9223372036854775807\r\n:-9223372036854775808\r\n"))
            == [.integer(.max), .integer(.min)])
        #expect(replyParseError(":9223372036854775808\r\n") == "ERR Protocol error: invalid integer reply")
    }

    @Test(arguments: [":\r\n", ":x\r\n", ":01\r\n", ":+1\r\n", ":1 \r\n"])
    func invalidIntegerReply_isRejected(input: String) {
        #expect(replyParseError(input) == "ERR Protocol error: invalid integer reply")
    }

    @Test func unknownType_isRejected() {
        #expect(replyParseError("?x\r\n") == "ERR Protocol error: unknown reply type '?'")
        #expect(replyParseError("|1\r\n") == "ERR Protocol error: unknown reply type '|'", "RESP3 attributes are not read")
    }

    /// Found by fuzz/FuzzRESPReply: a CR where a type byte belongs made an empty line whose
    /// content range ran backwards, and the parser trapped instead of throwing.
    @Test(arguments: ["\r\n\r\n", "\r\n+OK\r\n", "*1\r\n\r\n:1\r\n"])
    func carriageReturnAsTypeByte_isRejected_notATrap(input: String) {
        #expect(replyParseError(input)?.hasPrefix("ERR Protocol error: unknown reply type") == true)
    }

    @Test func malformedLengths_areRejected() {
        #expect(replyParseError("$-2\r\n") == "ERR Protocol error: invalid bulk length")
        #expect(replyParseError("$x\r\n") == "ERR Protocol error: invalid bulk length")
        #expect(replyParseError("*-2\r\n") == "ERR Protocol error: invalid multibulk length")
        #expect(replyParseError("*x\r\n") == "ERR Protocol error: invalid multibulk length")
    }

    @Test func lineWithoutCRLF_isRejected() {
        #expect(replyParseError("+OK\rx") == "ERR Protocol error: expected CRLF at the end of a line")
        #expect(replyParseError("$2\r\nabcd") == "ERR Protocol error: expected CRLF after bulk data")
    }

    @Test func bulk_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxBulkBytes: 3)
        #expect(try parseReplies(bytes("$3\r\nabc\r\n"), limits: limits) == [.bulk("abc")])
        #expect(replyParseError("$4\r\n", limits: limits)
            == "ERR Protocol error: bulk length 4 exceeds the limit of 3 bytes (--max-bulk-bytes)")
    }

    @Test func arrayLength_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxArguments: 2)
        #expect(try parseReplies(bytes("*2\r\n:1\r\n:2\r\n"), limits: limits) == [.array([.integer(1), .integer(2)])])
        #expect(replyParseError("*3\r\n", limits: limits)
            == "ERR Protocol error: 3 arguments exceed the limit of 2 arguments (--max-arguments)")
    }

    @Test func nesting_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxReplyNestingDepth: 3)
        #expect(try parseReplies(bytes("*1\r\n*1\r\n*1\r\n:7\r\n"), limits: limits)
            == [.array([.array([.array([.integer(7)])])])])
        #expect(replyParseError("*1\r\n*1\r\n*1\r\n*1\r\n", limits: limits)
            == "ERR Protocol error: reply nested deeper than the limit of 3 arrays")
    }

    @Test func lineLength_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxInlineBytes: 5)
        #expect(try parseReplies(bytes("+abcd\r\n"), limits: limits) == [.simple("abcd")])
        #expect(replyParseError("+abcde\r\n", limits: limits) == "ERR Protocol error: too big inline request")
        #expect(replyParseError("+abcde", limits: limits) == "ERR Protocol error: too big inline request")
    }

    @Test func reset_forgetsAPartialReply() throws {
        var parser = RESPReplyParser()
        _ = try withBytes(bytes("*2\r\n:1\r\n")) { bytes throws(RESPProtocolError) in try parser.parse(bytes) }
        parser.reset()
        let (_, reply) = try withBytes(bytes(":2\r\n")) { bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        #expect(reply == .integer(2))
    }
}
