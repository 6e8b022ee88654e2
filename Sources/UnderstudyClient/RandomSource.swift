import Synchronization

/// Where the client's randomness comes from (backoff jitter, idempotency keys). Injected so
/// that tests and simulations are reproducible; the decisions themselves take the drawn
/// values as arguments and never read randomness of their own.
public struct RandomSource: Sendable {
    private let generate: @Sendable () -> UInt64

    /// A source that calls `generate` for each 64 random bits.
    public init(_ generate: @escaping @Sendable () -> UInt64) {
        self.generate = generate
    }

    /// The system's cryptographically secure generator (idempotency keys must not collide
    /// between processes).
    public static let system = RandomSource { UInt64.random(in: .min ... .max) }

    /// A reproducible sequence (SplitMix64) from `seed`, for tests.
    public static func seeded(_ seed: UInt64) -> RandomSource {
        let state = Mutex(seed)
        return RandomSource {
            state.withLock { state in
                state &+= 0x9E37_79B9_7F4A_7C15
                var value = state
                value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
                value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
                return value ^ (value >> 31)
            }
        }
    }

    /// 64 random bits.
    public func next() -> UInt64 { generate() }

    /// A fresh idempotency key: 128 random bits as 32 lower-case hex digits.
    public func idempotencyKey() -> String {
        let high = String(next(), radix: 16)
        let low = String(next(), radix: 16)
        return String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 16 - low.count) + low
    }
}
