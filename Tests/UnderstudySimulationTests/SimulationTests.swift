import Testing
import UnderstudyCore
import UnderstudySimulation

/// The deterministic simulation in CI: fixed seeds that must stay clean, the mutation
/// check (a deliberately broken rule of `DataNode` must be caught), and replay determinism.
@Suite struct SimulationTests {
    /// Seeds 1-12 in each mode, plus seeds that once found bugs (see docs/simulation.md).
    static let syncSeeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 31, 1003]
    static let asyncSeeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 25]

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

    @Test("Mutation: a primary that ignores its lease → caught by the outside checks within 20 seeds (async)")
    func ignoreLeaseMutation_isCaught() {
        let caught = (UInt64(1)...20).first { seed in
            let options = SimulationOptions(seed: seed, mode: .async, mutation: .ignoreLease, checkAcknowledgerHoldsLease: false)
            return SimulationResult.run(options).violation?.message.hasPrefix("single writer") == true
        }
        #expect(caught != nil)
    }

    @Test("Mutation: a primary that ignores its lease → caught by the acknowledgement check within the first 3 seeds (sync)")
    func ignoreLeaseMutation_isCaughtAtOnceBySelfCheck() {
        let caught = (UInt64(1)...3).first { seed in
            SimulationResult.run(SimulationOptions(seed: seed, mode: .sync, mutation: .ignoreLease))
                .violation?.message.hasPrefix("single writer") == true
        }
        #expect(caught != nil)
    }

    @Test("Mutation: replies released past the gate on step-down → the old primary acknowledges after the next epoch (sync seed 39)")
    func releasePastTheGateMutation_isCaught() {
        let options = SimulationOptions(seed: 39, mode: .sync, mutation: .releasePastTheGate, checkAcknowledgerHoldsLease: false)
        #expect(SimulationResult.run(options).violation?.message.hasPrefix("single writer") == true)
        #expect(SimulationResult.run(SimulationOptions(seed: 39, mode: .sync, checkAcknowledgerHoldsLease: false)).violation == nil)
    }

    @Test("Mutation: a re-seeded standby that stays in sync and a member → an acknowledged write is lost (sync seed 126, --disk-loss)")
    func reseededStaysInSyncMutation_isCaught() {
        var options = SimulationOptions(seed: 126, mode: .sync, mutation: .reseededStaysInSync)
        options.diskLoss = true
        #expect(SimulationResult.run(options).violation?.message.hasPrefix("zero RPO") == true)
        options.mutation = nil
        #expect(SimulationResult.run(options).violation == nil, "the same seed runs clean without the mutation")
    }

    @Test("Switchover: an operator's switchover on the primary → the standby takes over, every invariant holds",
          arguments: [(UInt64(3), ReplicationMode.sync), (5, .sync), (8, .sync), (4, .async), (6, .async), (8, .async)])
    func switchover_holdsEveryInvariant(seed: UInt64, mode: ReplicationMode) {
        #expect(runClean(seed: seed, mode: mode) { $0.switchovers = true }.switchoversDone > 0)
    }

    /// Runs one seed with `adjust`ed options, expects it clean, and returns its statistics.
    private func runClean(seed: UInt64, mode: ReplicationMode, _ adjust: (inout SimulationOptions) -> Void) -> SimulationStatistics {
        var options = SimulationOptions(seed: seed, mode: mode)
        adjust(&options)
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
        return result.statistics
    }

    @Test("A node's log fails: it refuses writes and stops heartbeating, the other node takes over, every invariant holds",
          arguments: [(UInt64(3), ReplicationMode.sync), (5, .sync), (3, .async), (5, .async)])
    func logFailure_holdsEveryInvariant(seed: UInt64, mode: ReplicationMode) {
        #expect(runClean(seed: seed, mode: mode) { $0.logFailures = true }.logFailures > 0)
    }

    @Test("A node's disk fills up: it refuses writes and keeps its role until space returns (a standby's is fatal); every invariant holds",
          arguments: [(UInt64(3), ReplicationMode.sync), (5, .sync), (3, .async), (5, .async)])
    func diskFull_holdsEveryInvariant(seed: UInt64, mode: ReplicationMode) {
        let statistics = runClean(seed: seed, mode: mode) { $0.diskFulls = true }
        #expect(statistics.diskFulls > 0)
    }

    @Test("FENCE: a primary without its standby tells its peer its epoch, and a deposed primary steps down on it; every invariant holds",
          arguments: [(UInt64(2), ReplicationMode.sync), (2, .async), (3, .async)])
    func fence_holdsEveryInvariant(seed: UInt64, mode: ReplicationMode) {
        #expect(runClean(seed: seed, mode: mode) { $0.fence = true }.fencesAccepted > 0)
    }

    @Test("Reads: no read a primary answers is older than a write acknowledged before it began",
          arguments: [(UInt64(1), ReplicationMode.sync), (2, .sync), (1, .async), (2, .async)])
    func reads_areNeverOlderThanAnAcknowledgedWrite(seed: UInt64, mode: ReplicationMode) {
        #expect(runClean(seed: seed, mode: mode) { $0.reads = true }.readsChecked > 100)
    }

    /// Every opt-in fault and check at once.
    private func everything(_ options: inout SimulationOptions) {
        options.switchovers = true
        options.logFailures = true
        options.mixedLeases = true
        options.fence = true
        options.reads = true
        options.diskLoss = true
    }

    @Test("Finding C: a standby voted primary after it crashed, then emptied, neither takes the identity nor is promoted with its empty log; its old primary is (sync seed 500662, every flag)")
    func emptiedNodeNamedPrimary_isNotPromotedWithItsEmptyLog() {
        _ = runClean(seed: 500_662, mode: .sync, everything)
    }

    @Test("Finding D: a witness that lost its record ranks the nodes by their logs' last record epoch, so the node holding the writes acknowledged alone is chosen (sync seed 500250, every flag)")
    func witnessRecovery_ranksByTheLogsLastEpoch() {
        var options = SimulationOptions(seed: 500_250, mode: .sync)
        everything(&options)
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
    }

    @Test("Finding E: a stray FENCE that demotes the primary with an epoch never granted no longer leaves the cluster without a primary; SIGTERM hands over and drains (sync seeds 1 and 5, --sigterm --stray-fence)",
          arguments: [UInt64(1), 5])
    func strayFence_demotedPrimaryAsksAboveTheEpochItHeardOf(seed: UInt64) {
        var options = SimulationOptions(seed: seed, mode: .sync)
        options.terminations = true
        options.strayFences = true
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
        #expect(result.statistics.strayFences > 0)
    }

    @Test("Mutation: a standby that takes a FENCE naming itself as a grant → caught (async seed 1, --stray-fence); outside checks only: sync seed 19")
    func fencePromotesMutation_isCaught() {
        var options = SimulationOptions(seed: 1, mode: .async, mutation: .fencePromotes)
        options.strayFences = true
        #expect(SimulationResult.run(options).violation?.message.contains("made n2:7002 primary") == true)
        options.mutation = nil
        #expect(SimulationResult.run(options).violation == nil, "the same seed runs clean without the mutation")
        var outside = SimulationOptions(seed: 19, mode: .sync, mutation: .fencePromotes, checkAcknowledgerHoldsLease: false)
        outside.strayFences = true
        #expect(SimulationResult.run(outside).violation?.message.hasPrefix("zero RPO") == true)
    }

    @Test("Invariant 4 with --tight-lag (a one-record --max-lag-on-failover): every failover the witness grants is of an eligible standby, and with --force-promotion writes lost to a forced promotion are reported (async and sync seeds 1–2)",
          arguments: [UInt64(1), 2])
    func tightLagAndForcedPromotion_holdEveryInvariant(seed: UInt64) {
        for mode in [ReplicationMode.sync, .async] {
            let result = runClean(seed: seed, mode: mode) {
                $0.tightLag = true
                $0.forcedPromotions = true
            }
            #expect(result.failoversChecked + result.forcedPromotionsDone > 0)
        }
    }

    @Test("Finding H: a primary forced without the witness yields to the primary the witness made since, which keeps the writes it acknowledged (every flag, --force-promotion --tight-lag; 811566: also after the witness lost its disk; 911856 with --snapshots: a forced node that had heard the new epoch named)",
          arguments: [(UInt64(810_548), ReplicationMode.sync, false), (810_829, .sync, false), (811_566, .sync, false),
                      (810_036, .async, false), (911_856, .sync, true)])
    func forcedPrimaryWithoutTheWitness_yieldsToThePrimaryTheWitnessMadeSince(seed: UInt64, mode: ReplicationMode, snapshots: Bool) {
        var options = SimulationOptions(seed: seed, mode: mode)
        options.snapshots = snapshots
        everything(&options)
        options.terminations = true
        options.strayFences = true
        options.forcedPromotions = true
        options.tightLag = true
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
        #expect(result.statistics.forcedPromotionsDone > 0)
    }

    @Test("Snapshots: nodes snapshot and prune their WAL, a standby behind catches up from the primary's snapshot, every invariant holds (--snapshots, with disk loss)",
          arguments: [UInt64(1), 2, 3])
    func snapshots_holdEveryInvariant(seed: UInt64) {
        var installed = 0
        for mode in [ReplicationMode.sync, .async] {
            installed += runClean(seed: seed, mode: mode) {
                $0.snapshots = true
                $0.diskLoss = true
            }.snapshotsInstalled
        }
        #expect(installed > 0, "some standby caught up from a snapshot")
    }

    @Test("--fsync everysec and no (findings I and J: sync seeds 4 and 6 everysec, 1 and 2 no): writes count once written (a standby, and a sync primary waiting for it, once synced); only what a machine crash took unsynced from the node that acknowledged it on its own disk alone is lost, and it is counted",
          arguments: [(SimulatedFsyncPolicy.everysec, UInt64(4)), (.everysec, 6), (.no, 1), (.no, 2)])
    func fsyncPolicies_holdEveryInvariant(policy: SimulatedFsyncPolicy, seed: UInt64) {
        for mode in [ReplicationMode.sync, .async] {
            _ = runClean(seed: seed, mode: mode) { $0.fsyncPolicy = policy }
        }
        _ = runClean(seed: seed, mode: .sync) {
            $0.fsyncPolicy = policy
            $0.snapshots = true
        }
    }

    @Test("Findings K and L: a primary whose machine crash took what it had not synced comes back with less than its standby held; the standby is promoted (or, its disk lost, the primary resumes) — every flag, --snapshots, --fsync everysec|no",
          arguments: [(UInt64(830_010), ReplicationMode.async, SimulatedFsyncPolicy.everysec), (830_067, .async, .everysec),
                      (840_026, .sync, .no), (840_362, .sync, .no)])
    func primaryBackShort_theClusterGoesOn(seed: UInt64, mode: ReplicationMode, policy: SimulatedFsyncPolicy) {
        _ = runClean(seed: seed, mode: mode) {
            everything(&$0)
            $0.terminations = true
            $0.strayFences = true
            $0.forcedPromotions = true
            $0.tightLag = true
            $0.snapshots = true
            $0.fsyncPolicy = policy
        }
    }

    @Test("Nodes with different --lease (500 and 800 ms): every invariant holds", arguments: [UInt64(1), 2, 3])
    func mixedLeases_holdEveryInvariant(seed: UInt64) {
        for mode in [ReplicationMode.sync, .async] {
            _ = runClean(seed: seed, mode: mode) { $0.mixedLeases = true }
        }
    }

    @Test("Mutation: a switchover that asks the witness before the standby holds every record → caught (sync seed 43, --switchover)")
    func handOverEarlyMutation_isCaught() {
        var options = SimulationOptions(seed: 43, mode: .sync, mutation: .handOverEarly)
        options.switchovers = true
        #expect(SimulationResult.run(options).violation?.message.hasPrefix("single writer") == true)
        options.mutation = nil
        #expect(SimulationResult.run(options).violation == nil, "the same seed runs clean without the mutation")
    }

    @Test("Finding A: a HANDOVER the witness recorded but whose answer was lost no longer lets the old primary resume and acknowledge after the grant (--switchover, sync seeds 74, 108, 149)",
          arguments: [UInt64(74), 108, 149])
    func unansweredHandover_oldPrimaryNeverResumes(seed: UInt64) {
        var options = SimulationOptions(seed: seed, mode: .sync)
        options.switchovers = true
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
    }

    @Test("Finding B: a primary of an epoch it wrote nothing in no longer forgets that epoch on restart, so a witness that lost its record cannot re-grant it (async seeds 2, 138, --disk-loss)",
          arguments: [UInt64(2), 138])
    func restartedNode_remembersItsHighestEpoch(seed: UInt64) {
        var options = SimulationOptions(seed: seed, mode: .async)
        options.diskLoss = true
        let result = SimulationResult.run(options)
        #expect(result.violation == nil, "\(result.violation?.message ?? "") — replay: \(result.options.replayCommand)")
    }

    @Test("Regression: a primary restarted after losing unsynced records takes a new epoch, never reuses (epoch, LSN)")
    func restartedPrimary_takesANewEpoch() {
        let result = SimulationResult.run(SimulationOptions(seed: 3, mode: .async))
        #expect(result.violation == nil, "\(result.violation?.message ?? "")")
    }
}
