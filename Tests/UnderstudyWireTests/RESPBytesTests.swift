import Testing
@testable import UnderstudyWire

@Suite struct RESPBytesTests {
    private func decimal(_ text: String) -> Int64? {
        Array(text.utf8).withUnsafeBytes { RESPBytes.parseDecimal($0, 0..<$0.count) }
    }

    @Test func parseDecimal_acceptsCanonicalIntegers() {
        #expect(decimal("0") == 0)
        #expect(decimal("7") == 7)
        #expect(decimal("-1") == -1)
        #expect(decimal("1234567890") == 1_234_567_890)
        #expect(decimal("9223372036854775807") == .max)
        #expect(decimal("-9223372036854775808") == .min)
    }

    @Test(arguments: ["", "-", "+1", "01", "-0", "00", " 1", "1 ", "1a", "9223372036854775808", "-9223372036854775809"])
    func parseDecimal_rejectsWhatString2llRejects(text: String) {
        #expect(decimal(text) == nil)
    }

    @Test func findTypedLine_remembersHowFarItSearched() throws {
        var scannedBytes = 0
        let tooLong = RESPProtocolError(code: .lengthLineTooLong, message: "long")
        let malformed = RESPProtocolError(code: .invalidBulkLength, message: "malformed")
        func find(_ text: String) throws(RESPProtocolError) -> RESPBytes.Line? {
            try withBytes(Array(text.utf8)) { bytes throws(RESPProtocolError) in try RESPBytes.findTypedLine(
                    in: bytes, from: 0, scannedBytes: &scannedBytes, maxLineBytes: 10,
                    tooLong: tooLong, malformed: malformed)
            }
        }
        #expect(try find("$12") == nil)
        #expect(scannedBytes == 3)
        #expect(try find("$123\r") == nil)
        #expect(scannedBytes == 4)
        let line = try #require(try find("$123\r\nrest"))
        #expect(line.content == 1..<4)
        #expect(line.end == 6)
        #expect(scannedBytes == 0)
        #expect(throws: malformed) { try find("$1\rx") }
    }
}
