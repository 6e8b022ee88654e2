import Testing
import UnderstudyCore

@Suite struct EffectCodecTests {
    static let everyKind: [Effect] = [
        .set(key: Array("k".utf8), value: Array("v".utf8), expireAtMilliseconds: nil),
        .set(key: [], value: [], expireAtMilliseconds: -1),
        .set(key: [0, 255, 13, 10], value: [UInt8](repeating: 7, count: 300), expireAtMilliseconds: Int64.max),
        .delete(key: Array("gone".utf8)),
        .setExpiry(key: Array("k".utf8), expireAtMilliseconds: 1_700_000_000_123),
        .setExpiry(key: Array("k".utf8), expireAtMilliseconds: nil),
        .rename(from: Array("a".utf8), to: Array("b".utf8)),
        .flushAll,
        .append(key: Array("log".utf8), suffix: Array("line\n".utf8)),
        .setRange(key: Array("r".utf8), offset: 300, bytes: [1, 2, 3]),
    ]

    @Test func decode_setRangeOffsetBeyond512MB_isRefused() {
        var record = Effect.encodeRecord([.setRange(key: [1], offset: 512 << 20, bytes: [9])])
        #expect(throws: Never.self) { try Effect.decodeRecord(record) }
        record = Effect.encodeRecord([.setRange(key: [1], offset: (512 << 20) + 1, bytes: [9])])
        #expect(throws: EffectCodecError.self) { try Effect.decodeRecord(record) }
    }

    @Test func roundTrip_everyEffectKind() throws {
        let encoded = Effect.encodeRecord(Self.everyKind)
        #expect(encoded.first == Effect.codecVersion)
        #expect(try Effect.decodeRecord(encoded) == Self.everyKind)
    }

    @Test func roundTrip_eachEffectAlone_andEmptyRecord() throws {
        for effect in Self.everyKind {
            #expect(try Effect.decodeRecord(Effect.encodeRecord([effect])) == [effect])
        }
        #expect(try Effect.decodeRecord(Effect.encodeRecord([])) == [])
    }

    @Test func encodeInto_appendsAfterExistingBytes() throws {
        var buffer: [UInt8] = [1, 2, 3]
        Effect.encodeRecord(Self.everyKind, into: &buffer)
        #expect(Array(buffer.prefix(3)) == [1, 2, 3])
        #expect(try Effect.decodeRecord(buffer.dropFirst(3)) == Self.everyKind)
    }

    @Test func roundTrip_largeValue_usesMultiByteLengths() throws {
        let value = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        let effects = [Effect.set(key: Array("big".utf8), value: value, expireAtMilliseconds: nil)]
        #expect(try Effect.decodeRecord(Effect.encodeRecord(effects)) == effects)
    }

    @Test func decode_everyTruncation_throwsTruncated() {
        let encoded = Effect.encodeRecord(Self.everyKind)
        for length in 0..<encoded.count {
            #expect(throws: EffectCodecError.self) { try Effect.decodeRecord(encoded.prefix(length)) }
        }
    }

    @Test func decode_trailingBytes_isRefused() {
        let encoded = Effect.encodeRecord([.flushAll]) + [0]
        #expect { try Effect.decodeRecord(encoded) } throws: { ($0 as? EffectCodecError)?.code == .trailingBytes }
    }

    @Test func decode_unknownVersion_isRefused() {
        var encoded = Effect.encodeRecord([.flushAll])
        encoded[0] = 2
        #expect { try Effect.decodeRecord(encoded) } throws: { ($0 as? EffectCodecError)?.code == .unsupportedVersion }
    }

    @Test func decode_unknownTag_isRefused() {
        #expect { try Effect.decodeRecord([1, 1, 99]) } throws: { ($0 as? EffectCodecError)?.code == .unknownTag }
    }

    @Test func decode_hostileLengths_throwWithoutAllocating() {
        // Count claims 2^63 effects.
        let hugeCount: [UInt8] = [1] + [UInt8](repeating: 0xFF, count: 8) + [0x7F]
        #expect { try Effect.decodeRecord(hugeCount) } throws: { ($0 as? EffectCodecError)?.code == .truncated }
        // A key length of 2^64 - 1.
        let hugeKey: [UInt8] = [1, 1, 3] + [UInt8](repeating: 0xFF, count: 9) + [0x01]
        #expect { try Effect.decodeRecord(hugeKey) } throws: { ($0 as? EffectCodecError)?.code == .truncated }
        // An 11-byte varint overflows.
        let overlong: [UInt8] = [1] + [UInt8](repeating: 0x80, count: 10) + [0x01]
        #expect { try Effect.decodeRecord(overlong) } throws: { ($0 as? EffectCodecError)?.code == .invalidVarint }
        // A non-minimal varint (0 encoded in two bytes).
        #expect { try Effect.decodeRecord([1, 0x80, 0x00]) } throws: { ($0 as? EffectCodecError)?.code == .invalidVarint }
    }

    @Test func decode_randomBytes_neverTraps() {
        var generator = SplitMix64(seed: 42)
        let valid = Effect.encodeRecord(Self.everyKind)
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? Effect.decodeRecord(bytes)
            let random = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? Effect.decodeRecord(random)
        }
    }
}

/// A small deterministic generator for the fuzz test.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
