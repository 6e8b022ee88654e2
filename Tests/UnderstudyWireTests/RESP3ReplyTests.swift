import NIOCore
import NIOEmbedded
import Testing
import UnderstudyCore
import UnderstudyWire

/// RESP3 (`HELLO 3`): every type written as Redis 7 writes it, the same replies in their
/// RESP2 shapes on a RESP2 connection, and the reply parser reading them back.
@Suite struct RESP3ReplyTests {
    @Test func resp2Replies_areTheSameInRESP3_exceptNulls() {
        for reply in [Reply.ok, .simple("PONG"), .error("ERR x"), .integer(-7), .bulk("v"), .bulk([]), .array([]),
                      .array([.bulk("a"), .integer(1)])] {
            #expect(encoded(reply, protocol: .resp3) == encoded(reply), "\(reply)")
        }
    }

    @Test func nulls_areUnderscoreInRESP3_andKeepTheirRESP2Form() {
        #expect(encoded(.nullBulk, protocol: .resp3) == "_\r\n")
        #expect(encoded(.array(nil), protocol: .resp3) == "_\r\n")
        #expect(encoded(.null, protocol: .resp3) == "_\r\n")
        #expect(encoded(.nullBulk, protocol: .resp2) == "$-1\r\n")
        #expect(encoded(.array(nil), protocol: .resp2) == "*-1\r\n")
        #expect(encoded(.null, protocol: .resp2) == "$-1\r\n", "Redis's addReplyNull in RESP2")
        #expect(encoded(.array([.bulk("a"), .nullBulk]), protocol: .resp3) == "*2\r\n$1\r\na\r\n_\r\n", "MGET")
    }

    @Test(arguments: [
        (1.5, ",1.5\r\n", "$3\r\n1.5\r\n"), (3.0, ",3\r\n", "$1\r\n3\r\n"), (-0.25, ",-0.25\r\n", "$5\r\n-0.25\r\n"),
        (1e20, ",1e+20\r\n", "$5\r\n1e+20\r\n"), (Double.infinity, ",inf\r\n", "$3\r\ninf\r\n"),
        (-Double.infinity, ",-inf\r\n", "$4\r\n-inf\r\n"), (Double.nan, ",nan\r\n", "$3\r\nnan\r\n"),
    ])
    func doubles(value: Double, resp3: String, resp2: String) {
        #expect(encoded(.double(value), protocol: .resp3) == resp3)
        #expect(encoded(.double(value), protocol: .resp2) == resp2)
    }

    @Test func booleans_areIntegersInRESP2() {
        #expect(encoded(.boolean(true), protocol: .resp3) == "#t\r\n")
        #expect(encoded(.boolean(false), protocol: .resp3) == "#f\r\n")
        #expect(encoded(.boolean(true), protocol: .resp2) == ":1\r\n")
        #expect(encoded(.boolean(false), protocol: .resp2) == ":0\r\n")
    }

    @Test func bigNumbers_areBulkStringsInRESP2() {
        let digits = "-3492890328409238509324850943850943825024385"
        #expect(encoded(.bigNumber(digits), protocol: .resp3) == "(\(digits)\r\n")
        #expect(encoded(.bigNumber(digits), protocol: .resp2) == "$\(digits.utf8.count)\r\n\(digits)\r\n")
    }

    @Test func verbatimStrings_countTheirFormatInTheLength() {
        // INFO as Redis 7 sends it: `=<4 + length>\r\ntxt:<text>\r\n`.
        let info = Reply.verbatimText("# Server\r\nredis_version:7.0.15\r\n")
        #expect(encoded(info, protocol: .resp3) == "=36\r\ntxt:# Server\r\nredis_version:7.0.15\r\n\r\n")
        #expect(encoded(info, protocol: .resp2) == "$32\r\n# Server\r\nredis_version:7.0.15\r\n\r\n")
        #expect(encoded(.verbatim(.markdown, bytes("# t")), protocol: .resp3) == "=7\r\nmkd:# t\r\n")
        #expect(encoded(.verbatim(.text, []), protocol: .resp3) == "=4\r\ntxt:\r\n")
    }

    @Test func maps_countPairsInRESP3_andElementsInRESP2() {
        let reply = Reply.map(["server": .bulk("redis"), "proto": .integer(3), "modules": .array([])])
        #expect(encoded(reply, protocol: .resp3)
            == "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n")
        #expect(encoded(reply, protocol: .resp2)
            == "*6\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n")
        #expect(encoded(.map([]), protocol: .resp3) == "%0\r\n")
        #expect(encoded(.map([]), protocol: .resp2) == "*0\r\n")
    }

    @Test func setsAndPushes_areArraysInRESP2() {
        let flags = Reply.set([.simple("readonly"), .simple("fast")])
        #expect(encoded(flags, protocol: .resp3) == "~2\r\n+readonly\r\n+fast\r\n")
        #expect(encoded(flags, protocol: .resp2) == "*2\r\n+readonly\r\n+fast\r\n")
        let message = Reply.push([.bulk("message"), .bulk("ch"), .bulk("hi")])
        #expect(encoded(message, protocol: .resp3) == ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n")
        #expect(encoded(message, protocol: .resp2) == "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n")
    }

    @Test func nestedRESP3Types_areWrittenInTheirProtocolAtEveryDepth() {
        let reply = Reply.map(["get": .map(["flags": .set([.simple("fast")]), "missing": .nullBulk,
                                         "ratio": .double(0.5), "on": .boolean(true)])])
        #expect(encoded(reply, protocol: .resp3)
            == "%1\r\n$3\r\nget\r\n%4\r\n$5\r\nflags\r\n~1\r\n+fast\r\n$7\r\nmissing\r\n_\r\n$5\r\nratio\r\n,0.5\r\n$2\r\non\r\n#t\r\n")
        #expect(encoded(reply, protocol: .resp2)
            == "*2\r\n$3\r\nget\r\n*8\r\n$5\r\nflags\r\n*1\r\n+fast\r\n$7\r\nmissing\r\n$-1\r\n$5\r\nratio\r\n$3\r\n0.5\r\n$2\r\non\r\n:1\r\n")
        #expect(encoded(reply.resp2Shape, protocol: .resp2) == encoded(reply, protocol: .resp2),
                "resp2Shape is what a RESP2 connection reads")
        #expect(reply.resp2Shape == .array([.bulk("get"), .array([
            .bulk("flags"), .array([.simple("fast")]), .bulk("missing"), .nullBulk,
            .bulk("ratio"), .bulk("0.5"), .bulk("on"), .integer(1),
        ])]))
    }

    @Test func encoderHandler_writesInItsProtocol() throws {
        let channel = EmbeddedChannel(handler: MessageToByteHandler(RESPReplyEncoder(protocol: .resp3)))
        try channel.writeOutbound(Reply.map(["a": .nullBulk]))
        var written = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) {
            written.writeBuffer(&part)
        }
        #expect(String(buffer: written) == "%1\r\n$1\r\na\r\n_\r\n")
        #expect(try channel.finish().isClean)
    }

    // MARK: Parsing

    @Test func everyRESP3Type_isParsed_wholeAndByteByByte() throws {
        let input = "_\r\n,1.5\r\n,-inf\r\n,3\r\n#t\r\n#f\r\n(-12345678901234567890123\r\n=8\r\ntxt:a\r\nb\r\n!8\r\nERR a\r\nb\r\n"
            + "%2\r\n$1\r\nk\r\n_\r\n+x\r\n~1\r\n:1\r\n%0\r\n~0\r\n>2\r\n$7\r\nmessage\r\n*1\r\n:1\r\n"
        let expected: [Reply] = [
            .null, .double(1.5), .double(-.infinity), .double(3), .boolean(true), .boolean(false),
            .bigNumber("-12345678901234567890123"), .verbatim(.text, bytes("a\r\nb")), .error("ERR a\r\nb"),
            .map([Reply.MapEntry(.bulk("k"), .null), Reply.MapEntry(.simple("x"), .set([.integer(1)]))]),
            .map([]), .set([]), .push([.bulk("message"), .array([.integer(1)])]),
        ]
        #expect(try parseReplies(bytes(input)) == expected)
        #expect(try parseReplies(bytes(input), chunkSize: 1) == expected)
        #expect(try parseReplies(bytes(input), chunkSize: 5) == expected)
    }

    @Test(arguments: [
        Reply.null, .double(-2.75), .double(1e300), .boolean(false), .bigNumber("123456789012345678901234567890"),
        .verbatim(.text, bytes("id=1 name=x\n")), .verbatim(.markdown, []), .map(["server": .bulk("redis")]),
        .set([.simple("write"), .simple("stale")]), .push([.bulk("invalidate"), .array([.bulk("k")])]),
        .map(["modules": .array([]), "nested": .map(["n": .set([])])]),
    ])
    func encodedRESP3Reply_readsBackAsTheSameReply(reply: Reply) throws {
        var buffer = ByteBuffer()
        buffer.writeRESPReply(reply, protocol: .resp3)
        #expect(try buffer.readRESPReply() == reply)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("_x\r\n", "ERR Protocol error: invalid null reply"),
        ("#x\r\n", "ERR Protocol error: invalid boolean reply"),
        ("#tt\r\n", "ERR Protocol error: invalid boolean reply"),
        (",\r\n", "ERR Protocol error: invalid double reply"),
        (",1.5x\r\n", "ERR Protocol error: invalid double reply"),
        ("(\r\n", "ERR Protocol error: invalid big number reply"),
        ("(12a\r\n", "ERR Protocol error: invalid big number reply"),
        ("=3\r\ntxt\r\n", "ERR Protocol error: verbatim string without a format"),
        ("=5\r\nxyz:a\r\n", "ERR Protocol error: unknown verbatim string format"),
        ("=-1\r\n", "ERR Protocol error: invalid bulk length"),
        ("%-1\r\n", "ERR Protocol error: invalid multibulk length"),
        ("~x\r\n", "ERR Protocol error: invalid multibulk length"),
    ])
    func malformedRESP3Replies_areRejected(input: String, message: String) {
        #expect(replyParseError(input) == message)
    }

    @Test func mapsAndSets_respectTheLimits() {
        let limits = RESPLimits(maxArguments: 4)
        #expect(replyParseError("%3\r\n", limits: limits)
            == "ERR Protocol error: 6 arguments exceed the limit of 4 arguments (--max-arguments)", "a map counts keys and values")
        #expect(replyParseError("%9223372036854775807\r\n", limits: limits)
            == "ERR Protocol error: 9223372036854775807 arguments exceed the limit of 4 arguments (--max-arguments)")
        #expect(replyParseError("~5\r\n", limits: limits)
            == "ERR Protocol error: 5 arguments exceed the limit of 4 arguments (--max-arguments)")
        let shallow = RESPLimits(maxReplyNestingDepth: 2)
        #expect(replyParseError("%1\r\n+k\r\n~1\r\n>1\r\n:1\r\n", limits: shallow)
            == "ERR Protocol error: reply nested deeper than the limit of 2 arrays")
    }
}
