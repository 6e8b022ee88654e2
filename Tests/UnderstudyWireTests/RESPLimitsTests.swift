import Testing
import UnderstudyWire

@Suite struct RESPLimitsTests {
    @Test func defaults_matchTheDocumentedValues() {
        let limits = RESPLimits()
        #expect(limits.maxBulkBytes == 64 * 1024 * 1024)
        #expect(limits.maxArguments == 1_048_576)
        #expect(limits.maxRequestBytes == 128 * 1024 * 1024)
        #expect(limits.maxInlineBytes == 65_536)
        #expect(limits.maxReplyNestingDepth == 64)
        #expect(limits == .default)
    }

    @Test func defaultRequestLimit_leavesRoomForAMaximalBulkAndItsFraming() {
        let limits = RESPLimits()
        #expect(limits.maxRequestBytes >= limits.maxBulkBytes + 1024)
    }
}
