import Testing
@testable import UnderstudyCore
import UnderstudyWire

@Suite struct StandbyHandshakeTests {
    let sample = StandbyHandshake(standbyAddress: "10.0.0.2:7001", epoch: Epoch(3), lastLSN: LSN(120),
                                  lastRecordChecksum: 0xDEAD_BEEF, history: Self.oneThreeHistory)

    /// Epoch 1 from LSN 1, epoch 3 from LSN 100.
    static let oneThreeHistory: EpochHistory = {
        do { return try EpochHistory(text: "1:1,3:100") } catch { fatalError("test history is invalid: \(error)") }
    }()

    /// A fixed linear congruential sequence, so that the mutations replay exactly.
    private struct Mutations: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    private func text(_ arguments: [[UInt8]]) -> [String] { arguments.map { String(decoding: $0, as: UTF8.self) } }

    @Test func arguments_areTheREPLICATECommand() {
        #expect(text(sample.arguments) == ["REPLICATE", "2", "10.0.0.2:7001", "3", "120", "3735928559", "1:1,3:100", "-"])
    }

    @Test func arguments_roundTrip_withAndWithoutChecksum() throws {
        #expect(try StandbyHandshake(arguments: sample.arguments) == sample)
        var noRecord = sample
        noRecord.lastRecordChecksum = nil
        #expect(text(noRecord.arguments)[5] == "-")
        #expect(try StandbyHandshake(arguments: noRecord.arguments) == noRecord)
    }

    @Test func init_commandName_isCaseInsensitive() throws {
        var arguments = sample.arguments
        arguments[0] = Array("replicate".utf8)
        #expect(try StandbyHandshake(arguments: arguments) == sample)
    }

    @Test(arguments: [
        (0, "REPLICATES"), (1, "x"), (1, ""), (1, "01"), (1, "4294967296"),
        (2, ""), (2, "host"), (2, "host:"), (2, "host:0"), (2, "host:65536"), (2, ":7001"), (2, "a b:7001"),
        (2, "::1:7001"), (2, "[]:7001"), (3, "0"), (3, "-3"), (3, "3.0"), (4, ""), (4, "x"), (4, "18446744073709551616"),
        (5, "4294967296"), (5, ""), (5, "0x1"), (6, ""), (6, "1:2"), (6, "1:1,4:100"),
    ])
    func init_malformedField_isRejected(field: Int, value: String) {
        var arguments = sample.arguments
        arguments[field] = Array(value.utf8)
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: arguments) }
    }

    @Test func clusterIdentity_roundTrips_isOptional_andMustBeWellFormed() throws {
        var member = sample
        member.clusterID = ClusterIdentity.make(0x0123_4567_89ab_cdef, 42)
        #expect(try StandbyHandshake(arguments: member.arguments) == member)
        #expect(try StandbyHandshake(arguments: Array(sample.arguments.dropLast())) == sample)  // an older standby
        var arguments = member.arguments
        arguments[7] = Array("not-an-identity".utf8)
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: arguments) }
    }

    @Test func init_ipv6Address_inBrackets_isAccepted() throws {
        var arguments = sample.arguments
        arguments[2] = Array("[::1]:7001".utf8)
        #expect(try StandbyHandshake(arguments: arguments).standbyAddress == "[::1]:7001")
    }

    @Test func init_wrongArgumentCount_isRejected() {
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: Array(sample.arguments.dropLast(2))) }
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: sample.arguments + [[]]) }
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: []) }
    }

    @Test func init_checksumAtLSNZero_isRejected() {
        var arguments = sample.arguments
        arguments[4] = Array("0".utf8)
        #expect(throws: ReplicationError.self) { try StandbyHandshake(arguments: arguments) }
        arguments[5] = Array("-".utf8)
        #expect((try? StandbyHandshake(arguments: arguments)) != nil)
    }

    @Test func init_unsupportedVersion_saysSo() {
        var arguments = sample.arguments
        arguments[1] = Array("1".utf8)  // version 1 had no lease heartbeats
        #expect {
            try StandbyHandshake(arguments: arguments)
        } throws: { error in
            (error as? ReplicationError)?.code == .unsupportedProtocolVersion
        }
    }

    /// Random single-field mutations either parse to something that re-encodes the same
    /// way, or throw: never a trap, never a half-valid value.
    @Test func init_randomlyMutatedArguments_parseCanonicallyOrThrow() {
        var random = Mutations(state: 5)
        let alphabet = Array("0123456789:,-[]. xA".utf8)
        for _ in 0..<3000 {
            var arguments = sample.arguments
            let field = Int.random(in: 1..<arguments.count, using: &random)
            let length = Int.random(in: 0...12, using: &random)
            arguments[field] = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
            if let parsed = try? StandbyHandshake(arguments: arguments) {
                #expect(parsed.arguments == arguments)
            }
        }
    }
}
