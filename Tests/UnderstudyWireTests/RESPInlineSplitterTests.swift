import Testing
@testable import UnderstudyWire

@Suite struct RESPInlineSplitterTests {
    private func split(_ line: [UInt8]) throws(RESPProtocolError) -> [[UInt8]] {
        try withBytes(line) { bytes throws(RESPProtocolError) in try RESPInlineSplitter.split(bytes) }
    }

    private func split(_ line: String) throws(RESPProtocolError) -> [String] {
        try split(Array(line.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func words_areSeparatedBySpacesAndTabs() throws {
        #expect(try split("SET a b") == ["SET", "a", "b"])
        #expect(try split("  SET \t a   b  ") == ["SET", "a", "b"])
        #expect(try split("\u{0B}\u{0C}GET k") == ["GET", "k"])
    }

    @Test func emptyOrBlankLine_hasNoArguments() throws {
        #expect(try split("") == [])
        #expect(try split("  \t ") == [])
    }

    @Test func doubleQuotes_keepSpaces_andDecodeEscapes() throws {
        #expect(try split("SET \"a key\" \"x y\"") == ["SET", "a key", "x y"])
        #expect(try split(#""\x41\x4a\x7e""#) == ["AJ~"])
        #expect(try split(#""\n\r\t\b\a""#) == ["\n\r\t\u{08}\u{07}"])
        #expect(try split(#""\\ \" \q""#) == [#"\ " q"#])
    }

    @Test func doubleQuotes_withAnIncompleteHexEscape_keepTheLetters() throws {
        #expect(try split(#""\xzz""#) == ["xzz"])
        #expect(try split(#""\x4""#) == ["x4"])
        #expect(try split(#""\x4g""#) == ["x4g"])
    }

    @Test func hexEscape_canProduceAnyByte() throws {
        #expect(try split(Array(#""\x00\xff\xFF""#.utf8)) == [[0x00, 0xFF, 0xFF]])
    }

    @Test func singleQuotes_areLiteral_exceptForAnEscapedQuote() throws {
        #expect(try split(#"'a\'b'"#) == ["a'b"])
        #expect(try split(#"'a\nb "c"'"#) == [#"a\nb "c""#])
    }

    @Test func emptyQuotes_giveAnEmptyArgument() throws {
        #expect(try split(#"ECHO """#) == ["ECHO", ""])
        #expect(try split("ECHO ''") == ["ECHO", ""])
    }

    @Test func quoteInsideAWord_startsAQuotedPartOfTheSameArgument() throws {
        #expect(try split(#"a"b c" d"#) == ["ab c", "d"])
        #expect(try split("a'b c'") == ["ab c"])
    }

    @Test func closingQuote_followedByWhitespace_isAccepted() throws {
        #expect(try split("\"a\"\tb") == ["a", "b"])
        #expect(try split("'a'\rb") == ["a", "b"])
    }

    @Test(arguments: [#""a"#, "'a", #""a"b"#, "'a'b", #""a\""#, #"'a\'"#, #""a\"#, #"ok "#  + "\"", "\"\\x4"])
    func unbalancedQuotes_areRejected(line: String) {
        #expect(throws: RESPProtocolError.unbalancedQuotes) { try split(line) }
    }

    @Test func nulByte_isOrdinaryData() throws {
        #expect(try split([0x61, 0x00, 0x62, 0x20, 0x63]) == [[0x61, 0x00, 0x62], [0x63]])
    }
}
