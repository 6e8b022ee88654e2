import Testing
@testable import UnderstudyCore

@Suite struct EpochHistoryTextTests {
    @Test func description_isEpochColonLSNJoinedByCommas() {
        #expect(history((1, 1), (3, 120)).description == "1:1,3:120")
    }

    @Test func parse_roundTrips() throws {
        let sample = history((1, 1), (3, 120), (4, 120), (UInt64.max, UInt64.max))
        #expect(try EpochHistory(text: sample.description) == sample)
    }

    @Test(arguments: [
        "", ",", "1:1,", ",1:1", "1:1,,2:5", "1", "1:", ":1", "1:1:1", "01:1", "1:01", "+1:1", "-1:1", " 1:1",
        "1:1 ", "1 :1", "1:1;2:5", "0:1", "1:0", "1:2", "2:1,1:5", "1:1,2:10,3:9", "1:18446744073709551616",
        "1:99999999999999999999", "1:1,1:1", "١:1",
    ])
    func parse_malformed_isRejected(text: String) {
        #expect(throws: ReplicationError.self) { try EpochHistory(text: text) }
    }

    @Test func parse_atTheEntryLimit_isAccepted_andOneMore_isRejected() throws {
        let limit = EpochHistory.maximumEntries
        let pairs = (1...limit).map { "\($0):\($0)" }
        let atLimit = try EpochHistory(text: pairs.joined(separator: ","))
        #expect(atLimit.entries.count == limit)
        #expect(throws: ReplicationError.self) {
            try EpochHistory(text: (pairs + ["\(limit + 1):\(limit + 1)"]).joined(separator: ","))
        }
    }

    @Test func parse_overTheByteLimit_isRejectedBeforeParsing() {
        let huge = [UInt8](repeating: UInt8(ascii: "1"), count: EpochHistory.maximumTextBytes + 1)
        #expect(throws: ReplicationError(.malformedHistory,
                                         "epoch history text is \(huge.count) bytes, over the limit of \(EpochHistory.maximumTextBytes)")) {
            try EpochHistory(text: huge)
        }
    }

    /// Whatever the bytes, the parser returns or throws; what it returns is valid.
    @Test func parse_randomBytes_neverTraps() {
        var random = SeededGenerator(seed: 11)
        let alphabet = Array("0123456789:,-+ 9".utf8)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...24, using: &random)
            let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
            if let parsed = try? EpochHistory(text: bytes) {
                #expect(EpochHistory.problem(in: parsed.entries) == nil)
                #expect(parsed.textBytes == bytes)
            }
        }
    }
}
