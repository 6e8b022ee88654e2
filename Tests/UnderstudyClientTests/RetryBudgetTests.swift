import Testing
@testable import UnderstudyClient

@Suite struct RetryBudgetTests {
    @Test func fewActiveRequests_stillAllowTheMinimumRetries_andNotOneMore() {
        var budget = RetryBudget(percentOfActiveRequests: 20, minimumConcurrentRetries: 3)
        for _ in 0..<4 { budget.requestStarted() }
        let granted = (0..<4).map { _ in budget.tryStartRetry() }
        #expect(granted == [true, true, true, false])
        budget.retryFinished()
        let again = budget.tryStartRetry()
        #expect(again)
    }

    @Test func manyActiveRequests_allowTwentyPercent_andNotOneMore() {
        var budget = RetryBudget(percentOfActiveRequests: 20, minimumConcurrentRetries: 3)
        for _ in 0..<100 { budget.requestStarted() }
        #expect(budget.allowedConcurrentRetries == 20)
        let granted = (0..<21).map { _ in budget.tryStartRetry() }
        #expect(granted == Array(repeating: true, count: 20) + [false])
        for _ in 0..<50 { budget.requestFinished() }
        #expect(budget.allowedConcurrentRetries == 10)
        let overBudget = budget.tryStartRetry()
        #expect(!overBudget)
    }
}
