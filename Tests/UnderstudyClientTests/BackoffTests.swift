import Testing
@testable import UnderstudyClient

@Suite struct BackoffTests {
    let backoff = Backoff(baseMilliseconds: 10, capMilliseconds: 1_000)

    @Test func ceiling_doublesPerRetry_untilTheCap() {
        #expect((0...7).map { backoff.ceilingMilliseconds(retryIndex: $0) } == [10, 20, 40, 80, 160, 320, 640, 1_000])
        #expect(backoff.ceilingMilliseconds(retryIndex: 200) == 1_000)
    }

    @Test func delay_isFullJitter_fromZeroToTheCeilingInclusive() {
        #expect(backoff.delayMilliseconds(retryIndex: 2, randomValue: 0) == 0)
        #expect(backoff.delayMilliseconds(retryIndex: 2, randomValue: 40) == 40)
        #expect(backoff.delayMilliseconds(retryIndex: 2, randomValue: 41) == 0)
        #expect(backoff.delayMilliseconds(retryIndex: 9, randomValue: .max) <= 1_000)
    }

    @Test func delay_withAHugeBase_neverOverflows() {
        let huge = Backoff(baseMilliseconds: .max / 2, capMilliseconds: 5_000)
        #expect(huge.ceilingMilliseconds(retryIndex: 63) == 5_000)
    }

    @Test func seededRandomSource_isReproducible_andKeysAre128BitHex() {
        let first = RandomSource.seeded(7), second = RandomSource.seeded(7)
        #expect((0..<4).map { _ in first.next() } == (0..<4).map { _ in second.next() })
        let key = RandomSource.seeded(1).idempotencyKey()
        #expect(key.count == 32 && key.allSatisfy(\.isHexDigit))
        #expect(RandomSource.seeded(1).idempotencyKey() != RandomSource.seeded(2).idempotencyKey())
    }
}
