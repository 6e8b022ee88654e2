import Testing
@testable import UnderstudyWire

@Suite struct RESPProtocolErrorTests {
    @Test func printable_keepsVisibleASCII_andEscapesEverythingElse() {
        #expect(RESPProtocolError.printable(UInt8(ascii: "x")) == "x")
        #expect(RESPProtocolError.printable(UInt8(ascii: " ")) == " ")
        #expect(RESPProtocolError.printable(UInt8(ascii: "~")) == "~")
        #expect(RESPProtocolError.printable(0x0D) == "\\x0d")
        #expect(RESPProtocolError.printable(0x7F) == "\\x7f")
        #expect(RESPProtocolError.printable(0xFF) == "\\xff")
    }

    @Test func description_isTheMessage() {
        #expect(RESPProtocolError.invalidBulkLength.description == "ERR Protocol error: invalid bulk length")
        #expect(RESPProtocolError.Code.invalidBulkLength.description == "invalidBulkLength")
    }
}
