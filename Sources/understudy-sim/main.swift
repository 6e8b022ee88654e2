import ArgumentParser
import UnderstudyCore
import UnderstudySimulation

/// `understudy-sim`: runs seeds of the deterministic simulation and prints, for each one
/// that breaks an invariant, the one command that replays it.
struct SimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understudy-sim",
        abstract: "Run the deterministic failover simulation over many seeds.")

    @Option(help: "Run this one seed.")
    var seed: UInt64?

    @Option(help: "How many seeds to run, from --first-seed.")
    var seeds: UInt64 = 100

    @Option(help: "The first seed of the batch.")
    var firstSeed: UInt64 = 1

    @Option(help: "sync, async or both (each seed runs in each mode).")
    var mode: String = "both"

    @Option(help: "Stop starting new seeds after this long (e.g. 120s, 5m).")
    var timeLimit: String?

    @Option(help: "A deliberate bug to inject: \(SimulationMutation.allCases.map(\.rawValue).joined(separator: ", ")).")
    var mutation: String?

    @Flag(help: "Check only what an outside observer sees, not each node's own lease at each acknowledgement.")
    var outsideChecksOnly = false

    @Flag(help: "Let a crashing standby lose its disk now and then (it comes back empty and is re-seeded).")
    var diskLoss = false

    @Flag(help: "Let an operator now and then run a switchover on the primary.")
    var switchover = false
    @Flag(help: "Run the nodes with different --lease (500 ms and 800 ms).")
    var mixedLease = false
    @Flag(help: "Deliver the FENCE a primary without a standby sends its peer (as production does).")
    var fence = false
    @Flag(help: "Let clients read the register too, and check no read is older than an acknowledged write.")
    var reads = false
    @Flag(help: "Let a node's log fail now and then (a failed fdatasync); an operator restarts it later.")
    var logFailure = false
    @Flag(help: "Let a node's disk fill up now and then (ENOSPC); space returns by itself 0.1–2 s later.")
    var diskFull = false
    @Flag(name: .customLong("sigterm"), help: "Send a node SIGTERM now and then: a primary hands over first, then the node drains and stops.")
    var sigterm = false
    @Flag(help: "Let a stray client send FENCE to a node now and then (it may demote, never promote).")
    var strayFence = false
    @Flag(help: "Let an operator force the standby's promotion now and then while the primary is down.")
    var forcePromotion = false
    @Flag(help: "Set --max-lag-on-failover to 20 records, so async failover refuses standbys that lag.")
    var tightLag = false
    @Flag(help: "Let each node snapshot its log now and then and prune its WAL, so a standby behind catches up from a snapshot.")
    var snapshots = false
    @Option(help: "The nodes' --fsync: always, everysec or no (acknowledged writes a machine crash may take under the last two are excused, and counted).")
    var fsync = "always"

    @Flag(help: "Stop at the first failing seed.")
    var stopOnFailure = false

    @Flag(help: "Print the trace of every run.")
    var verbose = false

    func run() throws {
        let modes: [ReplicationMode]
        switch mode {
        case "both": modes = [.sync, .async]
        default:
            guard let single = ReplicationMode(rawValue: mode) else { throw ValidationError("--mode must be sync, async or both") }
            modes = [single]
        }
        var injected: SimulationMutation?
        if let mutation {
            guard let parsed = SimulationMutation(rawValue: mutation) else {
                throw ValidationError("unknown --mutation \(mutation) (\(SimulationMutation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            injected = parsed
        }
        guard let policy = SimulatedFsyncPolicy(rawValue: fsync) else {
            throw ValidationError("--fsync must be always, everysec or no")
        }
        let limit = try timeLimit.map(Self.parseDuration)
        let first = seed ?? firstSeed
        let count = seed == nil ? seeds : 1
        let clock = ContinuousClock()
        let start = clock.now
        var total = SimulationStatistics()
        var runs = 0
        var failures = 0
        var passedPerMode: [ReplicationMode: Int] = [:]
        var lastSeed = first
        print("understudy-sim: seeds \(first)..<\(first &+ count), mode \(mode)\(injected.map { ", mutation \($0.rawValue)" } ?? "")")
        seedLoop: for offset in 0..<count {
            if let limit, clock.now - start >= limit { break }
            lastSeed = first &+ offset
            for mode in modes {
                var options = SimulationOptions(seed: lastSeed, mode: mode, mutation: injected,
                                                checkAcknowledgerHoldsLease: !outsideChecksOnly)
                options.diskLoss = diskLoss
                options.switchovers = switchover
                options.terminations = sigterm
                options.strayFences = strayFence
                options.forcedPromotions = forcePromotion
                options.tightLag = tightLag
                options.snapshots = snapshots
                options.fsyncPolicy = policy
                options.mixedLeases = mixedLease
                options.fence = fence
                options.reads = reads
                options.logFailures = logFailure
                options.diskFulls = diskFull
                let result = SimulationResult.run(options, trace: verbose ? { print($0) } : nil)
                runs += 1
                total = total + result.statistics
                if let violation = result.violation {
                    failures += 1
                    print("FAIL seed \(lastSeed) mode \(mode.rawValue) at \(violation.trueMilliseconds) ms (step \(violation.step)): \(violation.message)")
                    print("  replay: \(options.replayCommand)")
                    if stopOnFailure { break seedLoop }
                } else {
                    passedPerMode[mode, default: 0] += 1
                }
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let perMode = modes.map { "\($0.rawValue) \(passedPerMode[$0] ?? 0)" }.joined(separator: ", ")
        print("""
            summary: \(runs) runs (seeds \(first)...\(lastSeed)) in \(Self.fixed(seconds)) s, \
            \(Self.fixed(Double(runs) / max(seconds, 0.001))) runs/s; clean: \(perMode); failed: \(failures)
              steps \(total.steps), promotions \(total.promotions), switchovers \(total.switchovers) (done \(total.switchoversDone)), log failures \(total.logFailures), disks full \(total.diskFulls) (space returned \(total.diskSpaceReturns)), fences sent \(total.fencesSent) (accepted \(total.fencesAccepted)), SIGTERMs \(total.terminations) (handed over \(total.terminationHandovers)), stray FENCEs \(total.strayFences) (accepted \(total.strayFencesAccepted)), forced promotions \(total.forcedPromotions) (done \(total.forcedPromotionsDone)), snapshots taken \(total.snapshotsTaken) (sent \(total.snapshotsSent), installed \(total.snapshotsInstalled)), failovers checked for eligibility \(total.failoversChecked), reads \(total.readsAttempted) (checked \(total.readsChecked)), writes attempted \(total.writesAttempted), \
            acknowledged \(total.acknowledgements), client timeouts \(total.clientTimeouts)
              crashes \(total.crashes), pauses \(total.pauses), connection resets \(total.connectionsReset), \
            messages dropped \(total.messagesDropped), duplicated \(total.messagesDuplicated)
              writes cut on rejoin and reported \(total.lostWritesReported), of them acknowledged (async) \(total.acknowledgedWritesLostAndReported); \
            acknowledged writes a machine crash took under --fsync \(fsync) \(total.acknowledgedWritesLostToFsyncPolicy)
            """)
        if failures > 0 { throw ExitCode(1) }
    }

    /// A number with two decimals, without Foundation.
    static func fixed(_ value: Double) -> String {
        let hundredths = Int64((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func parseDuration(_ text: String) throws -> Duration {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            if let number = Int64(text.dropLast(suffix.count)) { return .milliseconds(number * milliseconds) }
        }
        if let number = Int64(text) { return .seconds(number) }
        throw ValidationError("--time-limit takes a duration such as 120s or 5m, not \(text)")
    }
}

SimulatorCommand.main()
