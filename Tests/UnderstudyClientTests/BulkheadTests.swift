import Testing
@testable import UnderstudyClient

@Suite struct BulkheadTests {
    @Test func atTheLimitPlusOne_theRequestIsRefused_untilOneLeaves() {
        var bulkhead = Bulkhead(maxInFlightRequests: 3)
        let admitted = (0..<4).map { _ in bulkhead.tryEnter() }
        #expect(admitted == [true, true, true, false])
        #expect(bulkhead.inFlightRequests == 3)
        bulkhead.leave()
        let afterLeaving = bulkhead.tryEnter()
        #expect(afterLeaving)
    }
}
