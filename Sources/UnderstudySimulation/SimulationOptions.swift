public import UnderstudyCore

/// A deliberate bug the simulator must catch (the mutation check of its own strength):
/// the node's own `DataNode.Mutation`, so the simulator breaks the very rule production
/// runs (docs/simulation.md lists them). The sim's own part is the disk: with
/// `reseeded-stays-in-sync` an emptied node keeps its cluster identity (`wipeDisk`).
public typealias SimulationMutation = DataNode.Mutation

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
    /// Now and then an operator runs `understudy switchover` on the primary. Off by default,
    /// like `diskLoss`: without it the fault schedule draws exactly as before.
    public var switchovers = false
    /// The nodes run with different `--lease` (500 ms and 800 ms), as during a rolling change.
    public var mixedLeases = false
    /// A primary with no standby attached tells its peer its epoch (`FENCE`), as production
    /// does. Off by default: the datagrams it sends would change every seed's schedule.
    public var fence = false
    /// A third of the clients' operations read the register from the node they believe is
    /// primary; the checker holds every read answered by a primary to every write
    /// acknowledged before it began (DESIGN.md invariant: a read is never older).
    public var reads = false
    /// Now and then a node's log fails (a failed fdatasync): it refuses writes and takes no
    /// further part in failover until an operator restarts it, 0.3–3 s later.
    public var logFailures = false
    /// Now and then a node's disk fills up (ENOSPC): it refuses writes, serves reads and
    /// keeps its role until space returns 0.1–2 s later (a standby's full disk is fatal, as
    /// a failed log; an operator restarts it).
    public var diskFulls = false
    /// Now and then a node gets SIGTERM: a primary that can hand over does (`leaving`),
    /// then the node drains (every written record durable, held replies answered or failed)
    /// and stops; it is started again 0.2–2 s later.
    public var terminations = false
    /// Now and then a stray client sends `FENCE` to a node, naming either node or a stranger,
    /// with an epoch at or above the node's and now and then another cluster's identity: it
    /// may demote a node, never promote one (issue 9, item 1).
    public var strayFences = false
    /// Now and then, while the primary's process is down, an operator runs `PROMOTE FORCE`
    /// on the standby (the runbook's override for a dead primary and an ineligible
    /// standby). Writes acknowledged before a forced promotion that took over may be lost
    /// (in sync mode too: that is what forcing means), but never silently: the checker
    /// holds them to the async rule.
    public var forcedPromotions = false
    /// `--max-lag-on-failover` of 20 records' bytes instead of 1 MiB, so that in async mode
    /// the witness actually refuses standbys that lag (invariant 4 is checked either way).
    public var tightLag = false
    /// Each node takes a snapshot of its durable log now and then and keeps its WAL only
    /// from its older kept snapshot on (as production prunes), so a standby that fell behind
    /// catches up from the primary's snapshot, then its WAL.
    public var snapshots = false
    /// The nodes' `--fsync` (Redis's `appendfsync`): under `everysec` and `no` a write counts
    /// as durable here once written, the WAL is synced about once a second (`everysec`) or
    /// only when something needs it (`no`), and a standby still syncs before it acknowledges.
    /// A crash is a machine crash: what a node acknowledged on its own disk alone and had not
    /// synced may be lost with nothing to report — the policy's documented window — and the
    /// checker excuses exactly those writes, nothing else.
    public var fsyncPolicy: SimulatedFsyncPolicy = .always
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
        if switchovers { words.append("--switchover") }
        if mixedLeases { words.append("--mixed-lease") }
        if fence { words.append("--fence") }
        if reads { words.append("--reads") }
        if logFailures { words.append("--log-failure") }
        if diskFulls { words.append("--disk-full") }
        if terminations { words.append("--sigterm") }
        if strayFences { words.append("--stray-fence") }
        if forcedPromotions { words.append("--force-promotion") }
        if tightLag { words.append("--tight-lag") }
        if snapshots { words.append("--snapshots") }
        if fsyncPolicy != .always { words.append("--fsync \(fsyncPolicy.rawValue)") }
        words.append("--verbose")
        return words.joined(separator: " ")
    }
}

/// The `--fsync` policy the simulated nodes run with.
public enum SimulatedFsyncPolicy: String, Hashable, Sendable, CaseIterable {
    case always, everysec, no
}
