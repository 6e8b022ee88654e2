/// The simulator's only source of randomness: xoshiro256** seeded through SplitMix64, so
/// that one 64-bit seed fixes every choice of a run and the run replays exactly.
public struct SimulationRandom: Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A uniform integer in `range` (a negligible modulo bias is fine for a simulator).
    public mutating func int(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        if span == 0 { return Int64(bitPattern: next()) }
        return range.lowerBound + Int64(next() % span)
    }

    public mutating func index(_ count: Int) -> Int {
        precondition(count > 0, "Cannot pick from nothing")
        return Int(next() % UInt64(count))
    }

    /// True with probability `perMillion` / 1 000 000.
    public mutating func chance(perMillion: Int64) -> Bool {
        perMillion > 0 && Int64(next() % 1_000_000) < perMillion
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
