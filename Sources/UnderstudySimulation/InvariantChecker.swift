import UnderstudyCore

/// The invariants of DESIGN.md, checked from outside the nodes after every event, and
/// once more when the run ends.
struct InvariantChecker {
    struct Acknowledgement {
        var trueMicroseconds: Int64
        var node: String
        var epoch: Epoch
        var lsn: LSN
        var value: UInt64
        /// It relied on the acknowledging node's disk alone (async mode, or sync mode while
        /// acknowledging alone): under `--fsync everysec|no` a machine crash may take it.
        var ownDiskOnly = false
    }

    let options: SimulationOptions
    private(set) var violation: SimulationViolation?
    private(set) var acknowledgements: [Acknowledgement] = []
    private(set) var lostWrites: [LostWritesReport] = []
    /// Who was made primary of each epoch (by a `becomePrimary` action).
    private var primaryOfEpoch: [Epoch: String] = [:]
    /// The value of every record ever written, by (epoch, LSN): one writer per epoch.
    private var recordValues: [RecordKey: UInt64] = [:]
    /// The witness's highest recorded epoch, and the primary it names in each.
    private var grantedEpoch: Epoch?
    private var witnessPrimaryOfEpoch: [Epoch: String] = [:]
    /// `--reads`: the newest acknowledged write when each read began, by operation.
    private var newestAcknowledgedAtReadStart: [UInt64: Acknowledgement] = [:]
    var healedAt: Int64?
    /// When the last forced promotion took over (`--force-promotion`).
    private var forcedAtTrueMicroseconds: Int64?
    private var acknowledgementsAfterHeal = 0
    /// `--fsync everysec|no`: values of acknowledged writes that a machine crash took from
    /// the node that acknowledged them on its own disk alone, before they were synced.
    private var lostToFsyncPolicy: Set<UInt64> = []

    struct RecordKey: Hashable {
        var epoch: Epoch
        var lsn: LSN
    }

    init(options: SimulationOptions) {
        self.options = options
    }

    mutating func fail(_ message: String, _ simulation: Simulation) {
        guard violation == nil else { return }
        violation = SimulationViolation(message: message, trueMilliseconds: simulation.now / 1_000, step: simulation.statistics.steps)
        simulation.note("VIOLATION: \(message)")
    }

    // MARK: Events

    /// Single writer, part 1: an acknowledgement is made in the newest epoch the witness
    /// has granted (once a higher epoch is granted, the old primary's lease has run out)
    /// and, optionally, while the node holds its lease by its own clock.
    mutating func acknowledged(_ write: SimulatedNode.HeldWrite, epoch: Epoch, by node: SimulatedNode, holdsLease: Bool,
                               ownDiskOnly: Bool, simulation: Simulation) {
        acknowledgements.append(Acknowledgement(trueMicroseconds: simulation.now, node: node.name, epoch: epoch, lsn: write.lsn,
                                                value: write.value, ownDiskOnly: ownDiskOnly))
        simulation.statistics.acknowledgements += 1
        if healedAt != nil { acknowledgementsAfterHeal += 1 }
        // A newer epoch granted to this very node (moved above a forced epoch, or asked for by
        // it) leaves it the one writer; one granted to the other node, or to none known, does not.
        if let granted = grantedEpoch, granted > epoch,
           witnessPrimaryOfEpoch.contains(where: { $0.key > epoch && $0.value != node.name }) || witnessPrimaryOfEpoch[granted] == nil {
            fail("single writer: \(node.name) acknowledged LSN \(write.lsn) in epoch \(epoch) after the witness granted epoch \(granted) to \(witnessPrimaryOfEpoch[granted] ?? "-")", simulation)
        } else if options.checkAcknowledgerHoldsLease, !holdsLease {
            fail("single writer: \(node.name) acknowledged LSN \(write.lsn) in epoch \(epoch) without holding its lease", simulation)
        }
    }

    /// Epochs fence: one primary per epoch, ever.
    /// A client sends a read: it must see every write acknowledged before now.
    mutating func readStarted(operation: UInt64) {
        if let newest = acknowledgements.last { newestAcknowledgedAtReadStart[operation] = newest }
    }

    /// Reads are never older: a read a primary answers at `read.lsn` holds the newest write
    /// acknowledged before it began, at or below that LSN (records sit at the same LSN on
    /// every node). In async mode such a write may have been lost in a failover (and is
    /// then reported); only sync mode promises it is there.
    mutating func readAnswered(_ read: SimulatedNode.HeldWrite, by node: SimulatedNode, simulation: Simulation) {
        guard let newest = newestAcknowledgedAtReadStart.removeValue(forKey: read.operation) else { return }
        simulation.statistics.readsChecked += 1
        let index = Int(newest.lsn.rawValue) - 1
        let present = index < node.log.count && node.log[index].value == newest.value
        if !present, lostToFsyncPolicy.contains(newest.value) { return }
        if present, newest.lsn > read.lsn {
            fail("stale read: \(node.name) answered a read at LSN \(read.lsn), below LSN \(newest.lsn) acknowledged (by \(newest.node)) before the read began", simulation)
        } else if !present, options.mode == .sync, newest.trueMicroseconds >= forcedAtTrueMicroseconds ?? .min {
            fail("stale read: \(node.name) answered a read at LSN \(read.lsn) without the write acknowledged at LSN \(newest.lsn) in epoch \(newest.epoch) (by \(newest.node)) before the read began", simulation)
        }
    }

    /// `node`'s machine crashes. Under `--fsync everysec|no`, what it acknowledged on its own
    /// disk alone and had not synced goes with it: the policy's window, excused from the
    /// final checks (and counted). Nothing else is excused.
    mutating func nodeCrashed(_ node: SimulatedNode) {
        guard options.fsyncPolicy != .always else { return }
        for ack in acknowledgements where ack.node == node.name && ack.ownDiskOnly && Int(ack.lsn.rawValue) > node.durableCount {
            let index = Int(ack.lsn.rawValue) - 1
            if index < node.log.count, node.log[index].value == ack.value { lostToFsyncPolicy.insert(ack.value) }
        }
    }

    /// A forced promotion took over (`--force-promotion`): writes acknowledged before now
    /// may be lost, in sync mode too, but only with a report.
    mutating func forcedPromotionTookOver(_ simulation: Simulation) {
        forcedAtTrueMicroseconds = simulation.now
    }

    mutating func becamePrimary(_ node: SimulatedNode, epoch: Epoch, simulation: Simulation) {
        if let previous = primaryOfEpoch[epoch], previous != node.name {
            fail("epoch reused: \(node.name) became primary of epoch \(epoch), which \(previous) already had", simulation)
        }
        primaryOfEpoch[epoch] = node.name
        if let named = witnessPrimaryOfEpoch[epoch], named != node.name {
            fail("epoch reused: \(node.name) became primary of epoch \(epoch), which the witness granted to \(named)", simulation)
        }
    }

    /// One writer per epoch: no two records with the same epoch and LSN differ while both
    /// exist. (A record that a crash took from every node that had it may be written again.)
    mutating func appended(_ record: SimulatedRecord, on node: SimulatedNode, simulation: Simulation) {
        let key = RecordKey(epoch: record.epoch, lsn: record.lsn)
        if let value = recordValues[key], value != record.value {
            let earlier = SimulatedRecord(lsn: record.lsn, epoch: record.epoch, value: value)
            let position = Int(record.lsn.rawValue) - 1
            if let holder = simulation.nodes.first(where: { $0.log.count > position && $0.log[position] == earlier }) {
                fail("epoch reused: \(node.name) holds LSN \(record.lsn) of epoch \(record.epoch) with value \(record.value), while \(holder.name) holds another record of that epoch and LSN (value \(value))", simulation)
            }
        }
        recordValues[key] = record.value
    }

    mutating func witnessPersisted(_ record: WitnessRecord, simulation: Simulation) {
        if let granted = grantedEpoch, record.epoch < granted {
            fail("epochs only grow: the witness persisted epoch \(record.epoch) after \(granted)", simulation)
        }
        if let primary = record.primary {
            if let named = witnessPrimaryOfEpoch[record.epoch], named != primary {
                fail("epoch reused: the witness named \(primary) primary of epoch \(record.epoch), after naming \(named)", simulation)
            }
            witnessPrimaryOfEpoch[record.epoch] = primary
        }
        grantedEpoch = max(grantedEpoch ?? record.epoch, record.epoch)
    }

    /// Invariant 4: the witness's vote made the standby `node` primary in place of
    /// `previous.primary` (not a hand-over, not a forced promotion, not a primary that lost
    /// its disk). Sync: it was recorded in sync. Async: the old primary's last report had
    /// it holding every record, or lagging at most its `--max-lag-on-failover`.
    /// `holdsAllThatIsLeft`: the old primary came back with less than the candidate holds, so
    /// the candidate has every record that still exists — eligible whatever its lag or sync state.
    mutating func failedOver(to node: String, durableLSN: LSN, maxLagBytes: Int64, from previous: WitnessRecord,
                             report: WitnessHeartbeat?, holdsAllThatIsLeft: Bool, simulation: Simulation) {
        simulation.statistics.failoversChecked += 1
        guard !holdsAllThatIsLeft else { return }
        switch previous.mode {
        case .sync:
            if !previous.standbyInSync || previous.standby != node {
                fail("only an eligible standby is promoted: \(node) was made primary of the epoch after \(previous.epoch) but was not recorded in sync", simulation)
            }
        case .async:
            guard let report, report.epoch == previous.epoch else {
                fail("only an eligible standby is promoted: \(node) was made primary with no lag report from the primary of epoch \(previous.epoch)", simulation)
                return
            }
            let lag = report.standbyLagBytes ?? .max
            if durableLSN < report.lastWrittenLSN, lag > maxLagBytes {
                fail("only an eligible standby is promoted: \(node) lagged \(lag) bytes at the last report, more than its \(maxLagBytes)", simulation)
            }
        }
    }

    /// The witness lost its disk: from now on it is held only to what a node acted on. An
    /// epoch it granted that no node ever became primary of (the grant's answer was lost)
    /// was never used, and the record it rebuilds from the nodes may name it again.
    mutating func witnessLostItsRecord() {
        witnessPrimaryOfEpoch = witnessPrimaryOfEpoch.filter { primaryOfEpoch[$0.key] != nil }
        grantedEpoch = witnessPrimaryOfEpoch.keys.max()
    }

    mutating func reported(_ report: LostWritesReport) {
        lostWrites.append(report)
    }

    // MARK: After every step

    /// Single writer, part 2: at no instant do two nodes hold a lease as primary.
    mutating func checkStep(_ simulation: Simulation) {
        guard violation == nil else { return }
        // A primary whose switchover has asked the witness holds every request and has every
        // reply out: its lease passes to the standby with the hand-over (a write it
        // acknowledged after the grant is caught at the acknowledgement).
        let holders = simulation.nodes.filter { node in
            simulation.processUp[node.index] && node.coordinator.hasLease(nowMilliseconds: node.now)
                && node.node.primary?.handover?.stage != .askingWitness
        }
        if holders.count > 1 {
            let described = holders.map { "\($0.name) (epoch \($0.coordinator.epoch), lease until \($0.coordinator.leaseExpiresAtMilliseconds ?? 0), its clock \($0.now))" }
            fail("single writer: two nodes hold a primary's lease at once: \(described.joined(separator: ", "))", simulation)
        }
    }

    // MARK: At the end

    mutating func checkFinalState(_ simulation: Simulation) {
        guard violation == nil else { return }
        let primaries = simulation.nodes.filter { $0.coordinator.role == .primary && $0.coordinator.hasLease(nowMilliseconds: $0.now) }
        guard let primary = primaries.first else {
            let roles = simulation.nodes.map { "\($0.name): \($0.coordinator.role) in epoch \($0.coordinator.epoch)" }
            fail("liveness: no writable primary \(options.quietMilliseconds + options.healMilliseconds) ms after healing (\(roles.joined(separator: ", ")); witness: \(simulation.witness.persistedRecord?.text ?? "no record"))", simulation)
            return
        }
        guard acknowledgementsAfterHeal > 0 else {
            fail("liveness: no write was acknowledged in the \(options.healMilliseconds) ms after healing", simulation)
            return
        }
        checkConvergence(primary: primary, standby: simulation.nodes[1 - primary.index], simulation)
        guard violation == nil else { return }
        checkAcknowledgedWrites(on: primary, simulation)
        guard violation == nil else { return }
        for node in simulation.nodes {
            for record in node.log where node.history.epoch(at: record.lsn) != record.epoch {
                fail("\(node.name)'s record \(record.lsn) is from epoch \(record.epoch), but its history \(node.history) says \(node.history.epoch(at: record.lsn).map { "\($0)" } ?? "none")", simulation)
                return
            }
        }
    }

    /// After healing and a quiet period, the standby holds exactly the primary's log.
    private mutating func checkConvergence(primary: SimulatedNode, standby: SimulatedNode, _ simulation: Simulation) {
        guard standby.log == primary.log else {
            let common = zip(standby.log, primary.log).prefix { $0 == $1 }.count
            fail("convergence: \(options.quietMilliseconds) ms after the clients stopped, \(standby.name) (\(standby.coordinator.role), last LSN \(standby.lastLSN)) and primary \(primary.name) (last LSN \(primary.lastLSN)) agree only up to LSN \(common); \(standby.name): \(standby.linkDescription); \(primary.name): \(primary.linkDescription)", simulation)
            return
        }
    }

    /// Sync: every acknowledged write is on the primary. Async: every one that is not was
    /// reported lost by some node.
    private mutating func checkAcknowledgedWrites(on primary: SimulatedNode, _ simulation: Simulation) {
        var reportedLost: Set<UInt64> = []
        for report in lostWrites { for record in report.records { reportedLost.insert(record.value) } }
        for ack in acknowledgements {
            let index = Int(ack.lsn.rawValue) - 1
            let present = index < primary.log.count && primary.log[index].value == ack.value
            if present { continue }
            if lostToFsyncPolicy.contains(ack.value) {
                simulation.statistics.acknowledgedWritesLostToFsyncPolicy += 1
                continue
            }
            let forcedAfter = forcedAtTrueMicroseconds.map { ack.trueMicroseconds < $0 } ?? false
            switch forcedAfter ? .async : options.mode {
            case .sync:
                fail("zero RPO: the write of value \(ack.value), acknowledged by \(ack.node) at LSN \(ack.lsn) in epoch \(ack.epoch) at \(simulation.formatTime(ack.trueMicroseconds)), is not on the primary \(primary.name)", simulation)
                return
            case .async:
                if reportedLost.contains(ack.value) {
                    simulation.statistics.acknowledgedWritesLostAndReported += 1
                    continue
                }
                fail("loss is never silent: the write of value \(ack.value), acknowledged by \(ack.node) at LSN \(ack.lsn) in epoch \(ack.epoch), is not on the primary \(primary.name) and no node reported it lost", simulation)
                return
            }
        }
    }
}
