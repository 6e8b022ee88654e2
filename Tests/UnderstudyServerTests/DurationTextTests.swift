import Testing
import UnderstudyServer

@Suite struct DurationTextTests {
    @Test func parsesOperatorDurations() {
        #expect(DurationText.milliseconds("100ms") == 100)
        #expect(DurationText.milliseconds("1s") == 1000)
        #expect(DurationText.milliseconds("1.5s") == 1500)
        #expect(DurationText.milliseconds("2m") == 120_000)
        #expect(DurationText.milliseconds("250") == 250)
    }

    @Test func rejectsGarbage() {
        for text in ["", "s", "-1s", "1h", "1 s", "abc", "1e400s", "ms"] {
            #expect(DurationText.milliseconds(text) == nil, "\(text)")
        }
    }
}
