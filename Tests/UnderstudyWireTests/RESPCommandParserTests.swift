import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct RESPCommandParserTests {
    // MARK: Well-formed requests

    @Test func multibulk_isParsed_wholeAndByteByByte() throws {
        let input = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n"
        let expected = [Command(arguments: [bytes("SET"), bytes("a"), []])]
        #expect(try parseCommands(input) == expected)
        #expect(try parseCommands(input, chunkSize: 1) == expected)
        #expect(try parseCommands(input, chunkSize: 5) == expected)
    }

    @Test func bulkData_isBinarySafe() throws {
        let input = "*2\r\n$4\r\nECHO\r\n$6\r\n\r\n*\0\r\n\r\n"
        #expect(try parseCommands(input, chunkSize: 1) == [Command(arguments: [bytes("ECHO"), bytes("\r\n*\0\r\n")])])
    }

    @Test func pipelinedRequests_areParsedInOrder() throws {
        let input = "*1\r\n$4\r\nPING\r\nECHO a\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\n"
        let expected = [Command("PING"), Command("ECHO", "a"), Command("GET", "k"), Command("PING")]
        #expect(try parseCommands(input) == expected)
        #expect(try parseCommands(input, chunkSize: 1) == expected)
        #expect(try parseCommands(input, chunkSize: 7) == expected)
    }

    @Test func emptyLinesAndEmptyMultibulks_areIgnored() throws {
        let input = "\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n"
        #expect(try parseCommands(input) == [Command("PING")])
        #expect(try parseCommands(input, chunkSize: 1) == [Command("PING")])
    }

    @Test func inline_acceptsLineFeedAlone_andStripsOneCarriageReturn() throws {
        #expect(try parseCommands("GET a\n") == [Command("GET", "a")])
        #expect(try parseCommands("GET a\r\n") == [Command("GET", "a")])
    }

    // MARK: Truncated input

    @Test(arguments: [
        "*", "*1", "*1\r", "*1\r\n", "*1\r\n$", "*1\r\n$4", "*1\r\n$4\r", "*1\r\n$4\r\n",
        "*1\r\n$4\r\nPIN", "*1\r\n$4\r\nPING", "*1\r\n$4\r\nPING\r", "PING", "PING\r", "SET a \"b",
    ])
    func truncatedRequest_producesNothing_andThrowsNothing(input: String) throws {
        let (commands, _) = try parseCommands(bytes(input))
        #expect(commands.isEmpty)
        let (dripped, _) = try parseCommands(bytes(input), chunkSize: 1)
        #expect(dripped.isEmpty)
    }

    @Test func partialMultibulk_consumesCompleteArguments_soTheyAreNotParsedAgain() throws {
        var parser = RESPCommandParser()
        let head = bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval")
        let (consumedBytes, command) = try withBytes(head) { bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        #expect(command == nil)
        #expect(consumedBytes == bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n").count)
        #expect(parser.isInsideRequest)

        let tail = bytes("val") + bytes("ue\r\n")
        let (tailConsumed, completed) = try withBytes(tail) { bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        #expect(tailConsumed == tail.count)
        #expect(completed == Command("SET", "k", "value"))
        #expect(!parser.isInsideRequest)
    }

    @Test func reset_forgetsAPartialRequest() throws {
        var parser = RESPCommandParser()
        _ = try withBytes(bytes("*2\r\n$3\r\nGET\r\n")) { bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        #expect(parser.isInsideRequest)
        parser.reset()
        #expect(!parser.isInsideRequest)
        let (_, command) = try withBytes(bytes("PING\r\n")) { bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        #expect(command == Command("PING"))
    }

    // MARK: Protocol errors, with Redis's texts

    @Test(arguments: [
        "*x\r\n", "*\r\n", "*1 \r\n", "*+1\r\n", "*01\r\n", "*-0\r\n", "*-2\r\n", "*1\rx",
        "*2147483648\r\n", "*99999999999999999999\r\n",
    ])
    func invalidMultibulkLength_isRejected(input: String) {
        #expect(parseError(input) == "ERR Protocol error: invalid multibulk length")
    }

    @Test(arguments: [
        "*1\r\n$x\r\n", "*1\r\n$\r\n", "*1\r\n$-1\r\n", "*1\r\n$-5\r\n", "*1\r\n$04\r\n", "*1\r\n$-0\r\n",
        "*1\r\n$+4\r\n", "*1\r\n$4 \r\n", "*1\r\n$4\rPING\r\n",
    ])
    func invalidBulkLength_isRejected(input: String) {
        #expect(parseError(input) == "ERR Protocol error: invalid bulk length")
    }

    @Test func otherByteWhereDollarExpected_isRejected() {
        #expect(parseError("*1\r\nx\r\n") == "ERR Protocol error: expected '$', got 'x'")
        #expect(parseError("*2\r\n$1\r\na\r\n:1\r\n") == "ERR Protocol error: expected '$', got ':'")
        #expect(parseError("*1\r\n\r\n") == "ERR Protocol error: expected '$', got '\\x0d'")
        #expect(parseError([UInt8]("*1\r\n".utf8) + [0xFF])?.message == "ERR Protocol error: expected '$', got '\\xff'")
    }

    @Test(arguments: ["*1\r\n$4\r\nPINGxx", "*1\r\n$4\r\nPING\n\r", "*1\r\n$4\r\nPING\rx"])
    func bulkDataWithoutCRLF_isRejected(input: String) {
        #expect(parseError(input) == "ERR Protocol error: expected CRLF after bulk data")
    }

    @Test(arguments: ["SET a \"b\r\n", "SET a 'b\r\n", "SET a \"b\"c\r\n", "SET a 'b'c\r\n", "ECHO \"a\\\"\r\n"])
    func unbalancedQuotes_areRejected(input: String) {
        #expect(parseError(input) == "ERR Protocol error: unbalanced quotes in request")
    }

    @Test func errorCodes_identifyTheKindOfError() {
        #expect(parseError(bytes("*x\r\n"))?.code == .invalidMultibulkLength)
        #expect(parseError(bytes("*1\r\n$x\r\n"))?.code == .invalidBulkLength)
        #expect(parseError(bytes("*1\r\nx"))?.code == .unexpectedByte)
        #expect(parseError(bytes("*1\r\n$1\r\nabc"))?.code == .missingLineTerminator)
        #expect(parseError(bytes("\"a\n"))?.code == .unbalancedQuotes)
    }

    // MARK: Limits: exactly at the limit is accepted, one more is rejected

    @Test func bulkLength_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxBulkBytes: 4)
        #expect(try parseCommands("*1\r\n$4\r\nabcd\r\n", limits: limits) == [Command("abcd")])
        #expect(parseError("*1\r\n$5\r\n", limits: limits)
            == "ERR Protocol error: bulk length 5 exceeds the limit of 4 bytes (--max-bulk-bytes)")
    }

    @Test func defaultBulkLimit_isCheckedBeforeTheDataArrives() {
        #expect(parseError("*2\r\n$3\r\nSET\r\n$67108865\r\n")
            == "ERR Protocol error: bulk length 67108865 exceeds the limit of 67108864 bytes (--max-bulk-bytes)")
        #expect(parseError("*2\r\n$3\r\nSET\r\n$67108864\r\n") == nil)
    }

    @Test func argumentCount_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxArguments: 3)
        #expect(try parseCommands("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", limits: limits) == [Command("a", "b", "c")])
        #expect(parseError("*4\r\n", limits: limits)
            == "ERR Protocol error: 4 arguments exceed the limit of 3 arguments (--max-arguments)")
        #expect(try parseCommands("a b c\r\n", limits: limits) == [Command("a", "b", "c")])
        #expect(parseError("a b c d\r\n", limits: limits)
            == "ERR Protocol error: 4 arguments exceed the limit of 3 arguments (--max-arguments)")
    }

    @Test func defaultArgumentLimit_isCheckedBeforeTheArgumentsArrive() {
        #expect(parseError("*1048577\r\n")
            == "ERR Protocol error: 1048577 arguments exceed the limit of 1048576 arguments (--max-arguments)")
        #expect(parseError("*1048576\r\n") == nil)
    }

    @Test func requestSize_atLimit_isAccepted_andOneMore_isRejected() throws {
        // 4 (*2\r\n) + 9 ($3\r\nSET\r\n) + 10 ($4\r\nabcd\r\n) = 23 bytes.
        let input = "*2\r\n$3\r\nSET\r\n$4\r\nabcd\r\n"
        #expect(try parseCommands(input, limits: RESPLimits(maxRequestBytes: 23)) == [Command("SET", "abcd")])
        #expect(parseError(input, limits: RESPLimits(maxRequestBytes: 22))
            == "ERR Protocol error: request size 23 exceeds the limit of 22 bytes (--max-request-bytes)")
    }

    @Test func requestSize_isCheckedOnTheDeclaredLength_beforeTheDataArrives() {
        let limits = RESPLimits(maxRequestBytes: 22)
        #expect(parseError("*2\r\n$3\r\nSET\r\n$4\r\n", limits: limits)
            == "ERR Protocol error: request size 23 exceeds the limit of 22 bytes (--max-request-bytes)")
    }

    @Test func requestSize_countsEachRequestSeparately() throws {
        let request = "*2\r\n$3\r\nSET\r\n$4\r\nabcd\r\n"
        let commands = try parseCommands(String(repeating: request, count: 3), limits: RESPLimits(maxRequestBytes: 23))
        #expect(commands.count == 3)
    }

    @Test func inlineLine_atLimit_isAccepted_andOneMore_isRejected() throws {
        let limits = RESPLimits(maxInlineBytes: 8)
        #expect(try parseCommands("ECHO 123\r\n", limits: limits) == [Command("ECHO", "123")])
        #expect(try parseCommands("ECHO 123\n", limits: limits) == [Command("ECHO", "123")])
        #expect(parseError("ECHO 1234\r\n", limits: limits) == "ERR Protocol error: too big inline request")
        #expect(parseError("ECHO 1234\n", limits: limits) == "ERR Protocol error: too big inline request")
    }

    @Test func inlineLineWithoutNewline_isRejectedOnceItExceedsTheLimit() throws {
        let limits = RESPLimits(maxInlineBytes: 8)
        #expect(try parseCommands(bytes("ECHO 123"), limits: limits).commands.isEmpty)
        #expect(try parseCommands(bytes("ECHO 123\r"), limits: limits).commands.isEmpty)
        #expect(parseError("ECHO 1234", limits: limits) == "ERR Protocol error: too big inline request")
        #expect(parseError("ECHO 123\r\r", limits: limits) == "ERR Protocol error: too big inline request")
    }

    @Test func defaultInlineLimit_is64KiB() throws {
        let atLimit = String(repeating: "A", count: 65_536)
        #expect(try parseCommands(atLimit + "\r\n") == [Command(atLimit)])
        #expect(parseError(atLimit + "A") == "ERR Protocol error: too big inline request")
    }

    @Test func lengthLines_atLimit_areAccepted_andOneMore_areRejected() throws {
        let limits = RESPLimits(maxInlineBytes: 3)
        #expect(try parseCommands("*1\r\n$10\r\n0123456789\r\n", limits: limits) == [Command("0123456789")])
        #expect(parseError("*10\r\n", limits: limits) == nil)
        #expect(parseError("*100\r\n", limits: limits) == "ERR Protocol error: too big mbulk count string")
        #expect(parseError("*100", limits: limits) == "ERR Protocol error: too big mbulk count string")
        #expect(parseError("*1\r\n$100\r\n", limits: limits) == "ERR Protocol error: too big bulk count string")
        #expect(parseError("*1\r\n$100", limits: limits) == "ERR Protocol error: too big bulk count string")
    }
}
