public import UnderstudyCore

/// A deliberate bug the simulator must catch (the mutation check of its own strength).
public enum SimulationMutation: String, Hashable, Sendable, CaseIterable {
    /// The primary releases write replies without checking `hasLease`.
    case ignoreLease = "ignore-lease"
    /// The standby echoes the primary's heartbeats even while its vote request is out,
    /// so the primary keeps a lease that no voter promised.
    case echoDuringVote = "echo-during-vote"
    /// A standby that comes back with less than was acknowledged (its disk lost) stays "in
    /// sync" and a member: the primary does not record it out of sync, reports no commit
    /// LSN, and the emptied node keeps its cluster identity.
    case reseededStaysInSync = "reseeded-stays-in-sync"
    /// Replies failed on step-down or a sync timeout go out as successes up to the LSN the
    /// primary's state machine names, past the gate (issue 9's item 3 as it was).
    case releasePastTheGate = "release-past-the-gate"
}

/// What one run simulates. Everything not here comes from the seed.
public struct SimulationOptions: Hashable, Sendable {
    public var seed: UInt64
    public var mode: ReplicationMode
    public var mutation: SimulationMutation?
    /// Check, at every acknowledgement, that its node holds the lease by its own clock. A
    /// self-report: off, only what an outside observer sees is checked (single lease holder,
    /// no acknowledgement after a higher epoch was granted, no acknowledged write lost).
    public var checkAcknowledgerHoldsLease: Bool
    /// Now and then a crashing standby loses its disk and comes back empty (re-seeded).
    /// Off by default: with it, a known open finding (docs/simulation.md) still fails some
    /// seeds, and the default schedule of every seed stays as it was.
    public var diskLoss = false
    /// Virtual time: boot, faults, then the heal period and a quiet period without clients.
    public var bootMilliseconds: Int64 = 2_000
    public var faultMilliseconds: Int64 = 12_000
    public var healMilliseconds: Int64 = 10_000
    public var quietMilliseconds: Int64 = 6_000
    /// Clock rates differ from true time by at most this much (the settings' drift margin
    /// assumes up to 20%).
    public var maxClockDriftPartsPerMillion: Int64 = 20_000
    public var clients = 3

    public init(seed: UInt64, mode: ReplicationMode, mutation: SimulationMutation? = nil,
                checkAcknowledgerHoldsLease: Bool = true) {
        self.seed = seed
        self.mode = mode
        self.mutation = mutation
        self.checkAcknowledgerHoldsLease = checkAcknowledgerHoldsLease
    }

    /// The command that replays this run, with its trace.
    public var replayCommand: String {
        var words = ["swift run understudy-sim --seed \(seed) --mode \(mode.rawValue)"]
        if let mutation { words.append("--mutation \(mutation.rawValue)") }
        if !checkAcknowledgerHoldsLease { words.append("--outside-checks-only") }
        if diskLoss { words.append("--disk-loss") }
        words.append("--verbose")
        return words.joined(separator: " ")
    }
}
