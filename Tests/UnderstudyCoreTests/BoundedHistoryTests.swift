import Testing
@testable import UnderstudyCore

@Suite struct BoundedHistoryTests {
    @Test func keepsOnlyTheNewestInOrder() {
        var history = BoundedHistory<Int>(capacity: 3)
        for value in 1...7 { history.append(value) }
        #expect(history.elements == [5, 6, 7])
        #expect(history.appendedCount == 7)
        #expect(history.newest(2) == [6, 7])
        #expect(history.newest(10) == [5, 6, 7])
        #expect(history.newest(0) == [])
    }

    @Test func beforeItFillsItHoldsEverything() {
        var history = BoundedHistory<String>(capacity: 4)
        history.append("a")
        history.append("b")
        #expect(history.elements == ["a", "b"])
    }
}
