import UnderstudyCore

/// The first invariant a run broke.
public struct SimulationViolation: Hashable, Sendable {
    public var message: String
    public var trueMilliseconds: Int64
    public var step: Int
}

/// Counters of one run (or, added up, of many).
public struct SimulationStatistics: Hashable, Sendable {
    public var steps = 0
    public var promotions = 0
    /// Switchovers the fault schedule started (`--switchover`).
    public var switchovers = 0
    /// Of them, those that ended with the standby as primary.
    public var switchoversDone = 0
    public var logFailures = 0
    /// Disks that filled up (`--disk-full`), and of them those whose space returned.
    public var diskFulls = 0
    public var diskSpaceReturns = 0
    public var fencesSent = 0
    public var readsAttempted = 0
    public var readsChecked = 0
    public var fencesAccepted = 0
    /// SIGTERMs (`--sigterm`), and of them those a hand-over preceded.
    public var terminations = 0
    public var terminationHandovers = 0
    /// FENCEs from stray clients (`--stray-fence`), and of them those that demoted a node.
    public var strayFences = 0
    public var strayFencesAccepted = 0
    /// Forced promotions asked (`--force-promotion`), and of them those that took over.
    public var forcedPromotions = 0
    public var forcedPromotionsDone = 0
    /// Snapshots taken by the nodes (`--snapshots`), sent by a primary to a standby behind
    /// its WAL, and installed by a standby.
    public var snapshotsTaken = 0
    /// `--fsync everysec|no`: acknowledged writes not on the final primary because a machine
    /// crash took them unsynced from the node that acknowledged them on its own disk alone.
    public var acknowledgedWritesLostToFsyncPolicy = 0
    public var snapshotsSent = 0
    public var snapshotsInstalled = 0
    /// Failovers the witness granted that invariant 4 was checked on.
    public var failoversChecked = 0
    public var acknowledgements = 0
    public var writesAttempted = 0
    public var clientTimeouts = 0
    public var lostWritesReported = 0
    public var acknowledgedWritesLostAndReported = 0
    public var crashes = 0
    public var pauses = 0
    public var connectionsReset = 0
    public var messagesDropped = 0
    public var messagesDuplicated = 0

    public init() {}

    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum.steps += rhs.steps
        sum.promotions += rhs.promotions
        sum.switchovers += rhs.switchovers
        sum.switchoversDone += rhs.switchoversDone
        sum.logFailures += rhs.logFailures
        sum.diskFulls += rhs.diskFulls
        sum.diskSpaceReturns += rhs.diskSpaceReturns
        sum.fencesSent += rhs.fencesSent
        sum.readsAttempted += rhs.readsAttempted
        sum.readsChecked += rhs.readsChecked
        sum.fencesAccepted += rhs.fencesAccepted
        sum.terminations += rhs.terminations
        sum.terminationHandovers += rhs.terminationHandovers
        sum.strayFences += rhs.strayFences
        sum.strayFencesAccepted += rhs.strayFencesAccepted
        sum.forcedPromotions += rhs.forcedPromotions
        sum.forcedPromotionsDone += rhs.forcedPromotionsDone
        sum.snapshotsTaken += rhs.snapshotsTaken
        sum.acknowledgedWritesLostToFsyncPolicy += rhs.acknowledgedWritesLostToFsyncPolicy
        sum.snapshotsSent += rhs.snapshotsSent
        sum.snapshotsInstalled += rhs.snapshotsInstalled
        sum.failoversChecked += rhs.failoversChecked
        sum.acknowledgements += rhs.acknowledgements
        sum.writesAttempted += rhs.writesAttempted
        sum.clientTimeouts += rhs.clientTimeouts
        sum.lostWritesReported += rhs.lostWritesReported
        sum.acknowledgedWritesLostAndReported += rhs.acknowledgedWritesLostAndReported
        sum.crashes += rhs.crashes
        sum.pauses += rhs.pauses
        sum.connectionsReset += rhs.connectionsReset
        sum.messagesDropped += rhs.messagesDropped
        sum.messagesDuplicated += rhs.messagesDuplicated
        return sum
    }
}

public struct SimulationResult: Hashable, Sendable {
    public var options: SimulationOptions
    public var violation: SimulationViolation?
    public var statistics: SimulationStatistics
    public var endMilliseconds: Int64

    public var passed: Bool { violation == nil }

    /// Runs one seed.
    public static func run(_ options: SimulationOptions, trace: ((String) -> Void)? = nil) -> SimulationResult {
        Simulation(options: options, trace: trace).run()
    }
}
