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
    public var fencesSent = 0
    public var readsAttempted = 0
    public var readsChecked = 0
    public var fencesAccepted = 0
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
        sum.fencesSent += rhs.fencesSent
        sum.readsAttempted += rhs.readsAttempted
        sum.readsChecked += rhs.readsChecked
        sum.fencesAccepted += rhs.fencesAccepted
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
