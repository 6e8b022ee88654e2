import Testing
import UnderstudyCore
import UnderstudySimulation

@Suite struct SimulationTests {
    @Test func placeholder() {
        #expect(SimulationResult.run(SimulationOptions(seed: 1, mode: .sync)).statistics.steps > 0)
    }
}
