import Testing
import UnderstudyCore
import UnderstudySimulation

/// The deterministic simulation in CI: fixed seeds that must stay clean, the mutation
/// check (a deliberately broken lease check must be caught), and replay determinism.
@Suite struct SimulationTests {
    /// Seeds 1-12 in each mode, minus those that hit the known epoch-reuse bug (below).
    static let syncSeeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    static let asyncSeeds: [UInt64] = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]

    @Test("Simulation: sync mode, fixed seeds → every invariant holds", arguments: syncSeeds)
    func syncSeed_holdsEveryInvariant(seed: UInt64) {
        let result = SimulationResult.run(SimulationOptions(seed: seed, mode: .sync))
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
        #expect(result.statistics.acknowledgements > 0)
    }

    @Test("Simulation: async mode, fixed seeds → every invariant holds", arguments: asyncSeeds)
    func asyncSeed_holdsEveryInvariant(seed: UInt64) {
        let result = SimulationResult.run(SimulationOptions(seed: seed, mode: .async))
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
    }

    @Test("Simulation: the same seed replays the same run")
    func sameSeed_replaysExactly() {
        let first = SimulationResult.run(SimulationOptions(seed: 7, mode: .sync))
        let second = SimulationResult.run(SimulationOptions(seed: 7, mode: .sync))
        #expect(first == second)
    }

    @Test("Mutation: a primary that ignores its lease → caught by the outside checks within 20 seeds")
    func ignoreLeaseMutation_isCaught() {
        let caught = (UInt64(1)...20).first { seed in
            let options = SimulationOptions(seed: seed, mode: .sync, mutation: .ignoreLease, checkAcknowledgerHoldsLease: false)
            return SimulationResult.run(options).violation?.message.hasPrefix("single writer") == true
        }
        #expect(caught != nil)
    }

    @Test("Mutation: a primary that ignores its lease → caught by the acknowledgement check on the first seed")
    func ignoreLeaseMutation_isCaughtAtOnceBySelfCheck() {
        let result = SimulationResult.run(SimulationOptions(seed: 1, mode: .sync, mutation: .ignoreLease))
        #expect(result.violation?.message.hasPrefix("single writer") == true)
    }

    @Test("Known bug: a primary restarted after losing unsynced records resumes its epoch → two records share (epoch, LSN)")
    func restartedPrimary_reusesItsEpoch() {
        withKnownIssue("NodeCoordinator resumes the same epoch after HELLO; see docs/simulation.md, 'Findings'") {
            let result = SimulationResult.run(SimulationOptions(seed: 3, mode: .async))
            #expect(result.violation == nil, "\(result.violation?.message ?? "")")
        }
    }
}
