import UnderstudyCore

/// A data node's shell in the simulation: a thin interpreter of one `DataNode`, the same
/// pure value `NodeEngine` runs. It feeds the node its events (ticks, messages, the
/// witness's answers, fsyncs, client writes) and carries out the `NodeAction`s they return
/// over simulated I/O — an in-memory log with a durable prefix, a "disk" holding the epoch
/// history and the cluster identity, and the simulated connections. It decides nothing
/// about roles, epochs, leases or timeouts: every such rule is `DataNode`'s.
final class SimulatedNode {
    /// A request whose reply waits for the gate: a write (its record's LSN), or a read
    /// (`isRead`: the log's end when it ran, and the value there).
    struct HeldWrite {
        var lsn: LSN
        var value: UInt64
        var operation: UInt64
        var client: Int
        var isRead = false
        /// A read that arrived while the node was a primary (a standby's read may be stale,
        /// and stays a standby's read if the node is promoted before it is answered).
        var readOnPrimary = false
    }

    let index: Int
    let name: String
    let peerName: String
    unowned let simulation: Simulation

    // Durable: survives a crash.
    /// The log; only `log.prefix(durableCount)` survives a crash.
    var log: [SimulatedRecord] = []
    var durableCount = 0
    var persistedHistory = EpochHistory()
    /// The highest known epoch on this disk (`.persistKnownEpoch`, production's `DIR/epoch`):
    /// the history is trimmed to the log at boot, this is not, and the node starts from it.
    var persistedEpoch = Epoch.initial
    /// The log failed (`--log-failure`): no fsync completes until the node restarts.
    var logBroken = false
    /// The cluster identity on this node's disk (learned from the witness as primary, or
    /// from the primary's stream as standby).
    var persistedClusterID: String?
    /// `--snapshots`: the newest snapshot's LSN and the one before it (production keeps the
    /// WAL from the older kept snapshot on, so falling back to it still finds its WAL), and
    /// the oldest LSN still in the WAL files: records below it live only in a snapshot (the
    /// sim keeps them in `log` as the keyspace they built).
    var snapshotLSN: LSN?
    var olderSnapshotLSN: LSN?
    var retainedFromLSN = LSN(1)

    // Volatile: rebuilt on restart.
    /// The node's whole protocol.
    var node: DataNode
    /// Client writes appended and waiting for `.release` or `.fail`, in LSN order.
    var heldWrites: [HeldWrite] = []
    /// Client writes that arrived during a switchover, run when it ends (`.switchoverEnded`).
    var writesHeldForSwitchover: [(value: UInt64, operation: UInt64, client: Int)] = []
    /// SIGTERM in progress (`--sigterm`): handing over, then draining.
    enum Termination { case handingOver, draining }
    var termination: Termination?
    var witnessRequests: [UInt64: (request: WitnessRequest, sentAt: Int64)] = [:]
    var nextRequestID: UInt64 = 0
    /// Bumped whenever the log is synced or replaced at once: an fsync started before is stale.
    var logGeneration = 0
    var fsyncInFlight = false
    /// The records frame being handled (`.appendReceived` ranges index it).
    var receivedBatch: [SimulatedRecord] = []
    /// Primary: the connection the standby streams on (closed by `.closeStandbyLink`).
    var standbyConnection: Int?
    /// Standby: the connection to the primary (closed by `.closePrimaryLink`).
    var primaryConnection: Int?
    /// Counts dials, so that a stale `connectFailed` fails no later attempt.
    var dialAttempt = 0
    /// `--fsync everysec`: when the next once-a-second sync is due (local clock).
    var nextPeriodicSyncAt: Int64 = 0

    init(index: Int, name: String, peerName: String, simulation: Simulation) {
        self.index = index
        self.name = name
        self.peerName = peerName
        self.simulation = simulation
        node = DataNode(configuration: Self.configuration(index: index, peer: peerName, simulation: simulation),
                        history: EpochHistory(), lastLSN: .zero, lastRecordChecksum: nil)
        node.started(node: name, clusterID: nil, nowMilliseconds: simulation.localNow(index))
    }

    /// The node's flags, as the simulation runs it: a pair with a witness; the sim's
    /// primary retains its whole log and holds at most 1 000 waiting records.
    static func configuration(index: Int, peer: String, simulation: Simulation) -> DataNode.Configuration {
        DataNode.Configuration(
            pair: .init(peer: peer, mode: simulation.options.mode, role: index == 0 ? .primary : .standby,
                        hint: index == 0 ? .primary : .standby, coordination: simulation.settings(of: index), maxWaitingRecords: 1_000, syncTimeoutMilliseconds: 2_000,
                        windowBytes: 16 << 10, writtenRecordCapacity: 4_096),
            mutation: simulation.options.mutation)
    }

    var peerIndex: Int { 1 - index }
    var now: Int64 { simulation.localNow(index) }
    var lastLSN: LSN { LSN(UInt64(log.count)) }
    /// The node's history (for the checker).
    var history: EpochHistory { node.history }
    /// The node's coordinator: the simulation always runs with a witness.
    var coordinator: NodeCoordinator {
        guard let coordinator = node.coordinator else { fatalError("Internal inconsistency: \(name) runs without its coordinator") }
        return coordinator
    }

    /// For failure messages: the node's replication links.
    var linkDescription: String {
        let standby = node.standby.map {
            "link to primary \($0.link) (next attempt at \($0.nextConnectAtMilliseconds), now \(now), streaming \($0.replication.primaryEpoch.map { "in epoch \($0)" } ?? "no"))"
        }
        let primary = node.primary.map { "link to standby \($0.standbyLink.map { "\($0.id)" } ?? "none")" }
        return "\(node.linkStatus); \(standby ?? primary ?? "no role")"
    }

    /// The node's disk is lost (replaced by an empty one): it comes back as a new node.
    func wipeDisk() {
        log = []
        durableCount = 0
        persistedHistory = EpochHistory()
        persistedEpoch = .initial
        snapshotLSN = nil
        olderSnapshotLSN = nil
        retainedFromLSN = LSN(1)
        // The mutation: an emptied node still counts as a member (as when nodes took the
        // identity from the witness's HELLO answer).
        if simulation.options.mutation != .reseededStaysInSync { persistedClusterID = nil }
    }

    /// Boot (first start or restart): recover what is durable, then a fresh `DataNode`.
    func start() {
        logBroken = false
        log.removeLast(log.count - durableCount)
        // Recovery drops history entries for epochs that begin after the log's end: they
        // describe no record here (docs/simulation.md, finding 2).
        let history = DataNode.bootHistory(persistedHistory, lastLSN: lastLSN, coordinated: true)
        if history != persistedHistory {
            simulation.note("\(name) trims its history \(persistedHistory) to its last LSN \(lastLSN): \(history)")
            persistedHistory = history
        }
        node = DataNode(configuration: Self.configuration(index: index, peer: peerName, simulation: simulation),
                        history: history, lastLSN: lastLSN, lastRecordChecksum: log.last?.checksum)
        // The highest epoch it knew comes from its own file, not the trimmed history (finding B).
        node.started(node: name, clusterID: persistedClusterID, knownEpoch: persistedEpoch, nowMilliseconds: now)
        heldWrites = []
        termination = nil
        writesHeldForSwitchover = []
        witnessRequests = [:]
        logGeneration += 1
        fsyncInFlight = false
        receivedBatch = []
        standbyConnection = nil
        primaryConnection = nil
    }

    // MARK: Events

    func tick() {
        perform(node.tick(nowMilliseconds: now))
        if simulation.options.snapshots { considerSnapshot() }
        if simulation.options.fsyncPolicy == .everysec, now >= nextPeriodicSyncAt {
            nextPeriodicSyncAt = now + 1_000
            scheduleFsync(force: true)
        }
    }

    func receiveDatagram(_ message: SimulatedMessage, from sender: Int) {
        switch message {
        case .witnessReply(let id, let reply):
            guard let pending = witnessRequests.removeValue(forKey: id) else { return }
            perform(node.witnessAnswered(pending.request, reply: reply, sentAtMilliseconds: pending.sentAt, nowMilliseconds: now))
        case .witnessRefused(let id):
            // Refused proves nothing here: a duplicate of the datagram may still arrive later
            // (production's link is TCP and never resends), so it counts as maybe delivered.
            witnessGaveNoAnswer(id: id, error: "connection refused")
        case .clientWrite(let operation, let value):
            clientWrote(value: value, operation: operation, client: sender)
        case .clientRead(let operation):
            clientRead(operation: operation, client: sender)
        case .fence(let epoch, let primary, let clusterID, let forcedFrom):
            switch node.fenced(epoch: epoch, by: primary, clusterID: clusterID, forcedFrom: forcedFrom, nowMilliseconds: now) {
            case .success(let actions):
                if sender >= Simulation.firstClientIndex { simulation.statistics.strayFencesAccepted += 1 } else {
                    simulation.statistics.fencesAccepted += 1
                }
                // FENCE only ever demotes (issue 9, item 1): whoever sent it. (A look inside the
                // node: `--outside-checks-only` leaves it to the invariants.)
                if simulation.options.checkAcknowledgerHoldsLease,
                   actions.contains(where: { if case .becamePrimary = $0 { true } else { false } }) {
                    simulation.checker.fail("a FENCE \(epoch) naming \(primary) made \(name) primary", simulation)
                }
                perform(actions)
            case .failure(.notNewer(let ownEpoch)):
                simulation.sendDatagram(from: index, to: sender, .fenceRefusedNotNewer(epoch: ownEpoch))
            case .failure:
                break
            }
        case .fenceRefusedNotNewer(let epoch):
            perform(node.peerIsPrimary(ofEpoch: epoch, nowMilliseconds: now))
        default:
            break
        }
    }

    /// A message on connection `id`. The node ignores what arrives on a link it no longer has.
    func receive(_ message: SimulatedMessage, on id: Int) {
        let link = UInt64(id)
        switch message {
        case .handshake(let handshake):
            receivedHandshake(handshake, on: id)
        case .handshakeAnswer(let answer):
            perform(node.primaryAnswered(answer, link: link, nowMilliseconds: now))
        case .records(let records):
            receivedRecords(records, link: link)
        case .heartbeat(let epoch, let lastWrittenLSN, let sentAt, let leaseMilliseconds):
            perform(node.primaryHeartbeat(epoch: epoch, lastWrittenLSN: lastWrittenLSN, primaryTimeMilliseconds: sentAt,
                                          sentAtMilliseconds: sentAt, leaseMilliseconds: leaseMilliseconds, link: link,
                                          nowMilliseconds: now))
        case .handover(let newEpoch):
            perform(node.handoverOffered(epoch: newEpoch, link: link, nowMilliseconds: now))
        case .acknowledge(let durable, let epoch, let echoedSentAt):
            if let durable {
                perform(node.standbyAcknowledged(durableLSN: durable, epoch: epoch, link: link, nowMilliseconds: now))
            }
            if let echoedSentAt {
                perform(node.standbyEchoed(sentAtMilliseconds: echoedSentAt, epoch: epoch, link: link, nowMilliseconds: now))
            }
        case .closed:
            if primaryConnection == id { primaryConnection = nil }
            if standbyConnection == id { standbyConnection = nil }
            perform(node.primaryLinkClosed(link: link, nowMilliseconds: now))
            perform(node.standbyLinkClosed(link: link, nowMilliseconds: now))
        case .snapshot(let records):
            installSnapshot(records, link: link)
        case .witnessRequest, .witnessReply, .witnessRefused, .clientWrite, .clientRead, .clientAnswer, .fence, .fenceRefusedNotNewer:
            break  // datagrams, never on a connection
        }
    }

    func witnessGaveNoAnswer(id: UInt64, error: String = "no answer within \(SimulatedNode.witnessTimeoutMilliseconds) ms") {
        guard let pending = witnessRequests.removeValue(forKey: id) else { return }
        perform(node.witnessUnreachable(pending.request, error: error, nowMilliseconds: now))
    }

    /// The operator's `understudy switchover` on this node (a fault of the schedule).
    /// The log failed (a failed fdatasync): nothing more is synced or appended until restart.
    func logFailed() {
        guard !logBroken else { return }
        logBroken = true
        simulation.statistics.logFailures += 1
        perform(node.logFailed("simulated fdatasync failure"))
    }

    /// ENOSPC (`--disk-full`), as `NodeEngine.diskFilled` runs it: what was written is synced
    /// and reported, then the node decides. The sim writes each record at once, so no record
    /// is dropped; a standby's full disk is fatal (`logBroken`, as after a failed sync).
    func diskFilled() {
        durableCount = log.count
        perform(node.locallyDurable(upTo: lastLSN, nowMilliseconds: now))
        perform(node.synced(upTo: lastLSN, nowMilliseconds: now))
        perform(node.logFull("simulated ENOSPC", writtenThrough: lastLSN))
        if node.logFailure != nil { logBroken = true }
    }

    /// The shell's probe created a segment again.
    func diskSpaceReturned() {
        guard node.diskFull != nil else { return }
        simulation.statistics.diskSpaceReturns += 1
        perform(node.diskSpaceReturned(nowMilliseconds: now))
    }

    /// SIGTERM (`--sigterm`), as `DataNodeService` runs it: a primary that can hand over
    /// does (`leaving`), then the node drains — it takes nothing new, every written record
    /// becomes durable, held replies are answered or failed — and stops.
    func terminateRequested() {
        guard termination == nil else { return }
        simulation.statistics.terminations += 1
        if node.handsOverOnShutdown,
           case .success(let actions) = node.beginSwitchover(
               timeoutMilliseconds: NodeLimits.standard.shutdownHandoverTimeoutMilliseconds, leaving: true, nowMilliseconds: now) {
            simulation.note("\(name): SIGTERM: handing over first")
            termination = .handingOver
            perform(actions)
            return
        }
        drain()
    }

    /// Also when the hand-over before stopping ended (done or not): the shutdown goes on.
    func drain() {
        termination = .draining
        perform(node.shutdownBegan())
        scheduleFsync(force: true)
        finishDrainIfDurable()
    }

    /// The drain ends once every record written is durable (or the log failed).
    func finishDrainIfDurable() {
        guard termination == .draining, logBroken || durableCount == log.count else { return }
        termination = nil
        perform(node.shutdownDurable(nowMilliseconds: now))
        simulation.note("\(name): drained: stops")
        simulation.crash(index)
        simulation.schedule(.restart(process: index), afterMicroseconds: simulation.random.int(in: 200_000...2_000_000))
    }

    /// The operator's `PROMOTE FORCE` (`--force-promotion`).
    func forcedPromotionRequested() {
        switch node.forcePromotion(timeoutMilliseconds: NodeLimits.standard.forcedPromotionTimeoutMilliseconds, nowMilliseconds: now) {
        case .success(let actions):
            simulation.statistics.forcedPromotions += 1
            perform(actions)
        case .failure(let refusal):
            simulation.note("\(name): forced promotion refused: \(refusal.message)")
        }
    }

    func switchoverRequested() {
        switch node.beginSwitchover(timeoutMilliseconds: 2_000, leaving: false, nowMilliseconds: now) {
        case .success(let actions):
            simulation.statistics.switchovers += 1
            simulation.note("\(name): switchover requested")
            perform(actions)
        case .failure(let refusal):
            simulation.note("\(name): switchover refused: \(refusal.message)")
        }
    }

    // MARK: Storage

    func append(_ record: SimulatedRecord) {
        precondition(record.lsn == lastLSN.next, "Internal inconsistency: appending LSN \(record.lsn) after \(lastLSN)")
        log.append(record)
        node.appended(upTo: record.lsn, checksum: record.checksum)
        simulation.checker.appended(record, on: self, simulation: simulation)
        scheduleFsync()
    }

    /// Starts an fdatasync of what is written, unless one is running. Under `--fsync
    /// everysec|no` only a standby (which acknowledges only what is synced), a drain, or the
    /// once-a-second timer (`force`) syncs.
    func scheduleFsync(force: Bool = false) {
        guard !fsyncInFlight, !logBroken, durableCount < log.count else { return }
        guard force || simulation.options.fsyncPolicy == .always || node.syncsEveryWrite || termination == .draining else { return }
        fsyncInFlight = true
        simulation.schedule(.fsyncDone(node: index, incarnation: simulation.incarnations[index], generation: logGeneration, upTo: log.count),
                            afterMicroseconds: simulation.random.int(in: 300...4_000))
    }

    /// fdatasync returned. Under `always` it is what makes a write durable here; under
    /// `everysec` and `no` the write already counted (`writtenUnderPolicy`).
    func fsyncDone(generation: Int, upTo: Int) {
        fsyncInFlight = false
        if generation == logGeneration, !logBroken, upTo > durableCount {
            durableCount = min(upTo, log.count)
            let durable = LSN(UInt64(durableCount))
            if simulation.options.fsyncPolicy == .always || node.syncsEveryWrite {
                perform(node.locallyDurable(upTo: durable, nowMilliseconds: now))
            }
            perform(node.synced(upTo: durable, nowMilliseconds: now))
        }
        scheduleFsync()
        finishDrainIfDurable()
    }

    /// Under `--fsync everysec|no` a write counts as durable here once written (production's
    /// flush reports `locallyDurable` at once); the sync comes later.
    func writtenUnderPolicy(upTo lsn: LSN) {
        guard simulation.options.fsyncPolicy != .always, !node.syncsEveryWrite, lsn > .zero else { return }
        perform(node.locallyDurable(upTo: lsn, nowMilliseconds: now))
    }

    /// `.syncLog`, and after a cut: the whole log is durable at once.
    func syncLogNow() {
        durableCount = log.count
        logGeneration += 1
        fsyncInFlight = false
        node.logSynced(through: lastLSN)
    }

    // MARK: The witness

    static let witnessTimeoutMilliseconds: Int64 = 300

    func askWitness(_ request: WitnessRequest) {
        let id = nextRequestID
        nextRequestID += 1
        witnessRequests[id] = (request, now)
        simulation.sendDatagram(from: index, to: Simulation.witnessIndex, .witnessRequest(id: id, request))
        simulation.schedule(.witnessTimeout(node: index, incarnation: simulation.incarnations[index], id: id),
                            afterMicroseconds: simulation.microseconds(localMilliseconds: Self.witnessTimeoutMilliseconds, process: index))
    }

    // MARK: Clients

    func answer(_ write: HeldWrite, _ answer: ClientAnswer) {
        simulation.sendDatagram(from: index, to: write.client, .clientAnswer(operation: write.operation, answer))
    }
}
