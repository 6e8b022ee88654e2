import UnderstudyCore

/// A data node's shell in the simulation: it interprets the real `NodeCoordinator`,
/// `PrimaryReplication` and `StandbyReplication` the way `NodeEngine` does, over an
/// in-memory log with a durable prefix. Role comes only from the coordinator's actions.
final class SimulatedNode {
    struct HeldWrite {
        var lsn: LSN
        var value: UInt64
        var operation: UInt64
        var client: Int
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
    var persistedEpoch = Epoch.initial
    /// The cluster identity on this node's disk (learned from the witness as primary, or
    /// from the primary's stream as standby).
    var persistedClusterID: String?

    // Volatile: rebuilt on restart.
    var history = EpochHistory()
    var coordinator: NodeCoordinator
    var primary: PrimaryReplication?
    var standby: StandbyReplication?
    /// Writes appended and waiting for the core's `.release`.
    var heldWrites: [HeldWrite] = []
    /// Released by the core, waiting for the lease.
    /// The same durability-and-lease gate as production's: held writes at or below its
    /// acknowledged LSN are answered.
    var gate = AcknowledgementGate(acknowledgedLSN: .zero)
    var witnessRequests: [UInt64: (request: WitnessRequest, sentAt: Int64)] = [:]
    var nextRequestID: UInt64 = 0
    var logGeneration = 0
    var fsyncInFlight = false
    /// Primary: the standby's connection, and whether records and heartbeats may flow.
    var standbyLink: Int?
    var standbyLinkStreaming = false
    /// Standby: the connection to the primary.
    var primaryLink: Int?
    var connecting = false
    var nextConnectAtMilliseconds: Int64 = 0
    var reconnectDelayMilliseconds: Int64 = 100

    init(index: Int, name: String, peerName: String, simulation: Simulation) {
        self.index = index
        self.name = name
        self.peerName = peerName
        self.simulation = simulation
        coordinator = NodeCoordinator(node: name, hint: nil, epoch: .initial, settings: simulation.settings, nowMilliseconds: 0)
    }

    var peerIndex: Int { 1 - index }

    /// For failure messages: the node's replication links.
    var linkDescription: String {
        "link to primary \(primaryLink.map { "\($0)" } ?? "none") (connecting \(connecting), next attempt at \(nextConnectAtMilliseconds), now \(now), streaming \(standby?.primaryEpoch.map { "in epoch \($0)" } ?? "no")), link to standby \(standbyLink.map { "\($0)" } ?? "none")"
    }
    var now: Int64 { simulation.localNow(index) }
    var lastLSN: LSN { LSN(UInt64(log.count)) }
    var mutation: SimulationMutation? { simulation.options.mutation }

    /// The node's disk is lost (replaced by an empty one): it comes back as a new node.
    func wipeDisk() {
        log = []
        durableCount = 0
        persistedHistory = EpochHistory()
        persistedEpoch = .initial
        // The mutation: an emptied node still counts as a member (as when nodes took the
        // identity from the witness's HELLO answer).
        if mutation != .reseededStaysInSync { persistedClusterID = nil }
    }

    /// Boot (first start or restart): what is durable, a fresh coordinator asking HELLO.
    func start() {
        log.removeLast(log.count - durableCount)
        history = persistedHistory
        trimHistoryToLog()
        coordinator = NodeCoordinator(node: name, hint: index == 0 ? .primary : .standby,
                                      epoch: max(persistedEpoch, persistedHistory.currentEpoch),
                                      settings: simulation.settings, nowMilliseconds: now, clusterID: persistedClusterID)
        primary = nil
        standby = nil
        heldWrites = []
        gate.restart(at: lastLSN)
        witnessRequests = [:]
        logGeneration += 1
        fsyncInFlight = false
        standbyLink = nil
        standbyLinkStreaming = false
        primaryLink = nil
        connecting = false
        nextConnectAtMilliseconds = 0
        reconnectDelayMilliseconds = 100
    }

    // MARK: Time

    func tick() {
        let now = self.now
        let facts = NodeCoordinator.LogFacts(
            lastWrittenLSN: lastLSN, durableLSN: LSN(UInt64(durableCount)),
            standbyDurableLSN: primary?.standbyDurableLSN,
            standbyLagBytes: primary?.knownLagBytes(nowMilliseconds: now),
            standbyHoldsEveryReleasedWrite: primary.map { $0.standbyAddress != nil && ($0.standbyDurableLSN ?? .zero) >= $0.commitLSN } ?? false,
            commitLSN: mutation == .reseededStaysInSync ? .zero : primary?.commitLSN ?? .zero,
            standbyAttached: standbyLink != nil)
        perform(coordinator.tick(nowMilliseconds: now, facts: facts))
        if primary != nil { perform(primary!.tick(nowMilliseconds: now)) }
        flushReleasedWrites()
        if coordinator.role == .standby, standby != nil, primaryLink == nil, !connecting, now >= nextConnectAtMilliseconds {
            connectToPrimary()
        }
    }

    // MARK: Storage

    func append(_ record: SimulatedRecord) {
        precondition(record.lsn == lastLSN.next, "Internal inconsistency: appending LSN \(record.lsn) after \(lastLSN)")
        log.append(record)
        simulation.checker.appended(record, on: self, simulation: simulation)
        scheduleFsync()
    }

    func scheduleFsync() {
        guard !fsyncInFlight, durableCount < log.count else { return }
        fsyncInFlight = true
        simulation.schedule(.fsyncDone(node: index, incarnation: simulation.incarnations[index], generation: logGeneration, upTo: log.count),
                            afterMicroseconds: simulation.random.int(in: 300...4_000))
    }

    func fsyncDone(generation: Int, upTo: Int) {
        fsyncInFlight = false
        if generation == logGeneration, upTo > durableCount {
            durableCount = min(upTo, log.count)
            let durable = LSN(UInt64(durableCount))
            if primary != nil {
                perform(primary!.localDurable(durable, nowMilliseconds: now))
            } else if let standbyLast = standby?.lastLSN, durable <= standbyLast {
                perform(standby!.localDurable(durable))
            }
        }
        scheduleFsync()
    }

    /// The shell syncs its whole log at once (a role change, a cut): `StandbyReplication`
    /// takes the log it is built on as durable.
    func syncLogNow() {
        durableCount = log.count
        logGeneration += 1
        fsyncInFlight = false
    }

    /// Drops history entries for epochs that begin after the log's end: they describe no
    /// record here (a crash took their records, or this node was primary of an epoch and
    /// wrote nothing), and left in place they make the standby refuse the records the
    /// current primary holds at those LSNs, or make `begin` go backwards. The epoch itself
    /// stays known (`persistedEpoch`). A rule the real shell must follow too.
    func trimHistoryToLog() {
        let trimmed = history.truncated(after: lastLSN)
        guard trimmed != history else { return }
        simulation.note("\(name) trims its history \(history) to its last LSN \(lastLSN): \(trimmed)")
        history = trimmed
        persistHistory()
    }

    func persist(epoch: Epoch) {
        persistedEpoch = max(persistedEpoch, epoch)
    }

    func persistHistory() {
        persistedHistory = history
        persist(epoch: history.currentEpoch)
    }

    // MARK: The witness

    func askWitness(_ request: WitnessRequest) {
        let id = nextRequestID
        nextRequestID += 1
        witnessRequests[id] = (request, now)
        simulation.sendDatagram(from: index, to: Simulation.witnessIndex, .witnessRequest(id: id, request))
        simulation.schedule(.witnessTimeout(node: index, incarnation: simulation.incarnations[index], id: id),
                            afterMicroseconds: simulation.microseconds(localMilliseconds: Self.witnessTimeoutMilliseconds, process: index))
    }

    static let witnessTimeoutMilliseconds: Int64 = 300

    func witnessGaveNoAnswer(id: UInt64) {
        guard let pending = witnessRequests.removeValue(forKey: id) else { return }
        perform(coordinator.witnessUnreachable(pending.request))
    }

    func receiveDatagram(_ message: SimulatedMessage, from sender: Int) {
        switch message {
        case .witnessReply(let id, let reply):
            guard let pending = witnessRequests.removeValue(forKey: id) else { return }
            perform(coordinator.witnessAnswered(pending.request, reply: reply, sentAtMilliseconds: pending.sentAt, nowMilliseconds: now))
        case .witnessRefused(let id):
            witnessGaveNoAnswer(id: id)
        case .clientWrite(let operation, let value):
            clientWrote(value: value, operation: operation, client: sender)
        default:
            break
        }
    }

    // MARK: Coordinator actions

    func perform(_ actions: [CoordinatorAction]) {
        // As the shell does: an identity learned is persisted before anything that follows.
        persistedClusterID = coordinator.clusterID
        for action in actions {
            switch action {
            case .askWitness(let request):
                askWitness(request)
            case .sendStandbyHeartbeat(let sentAt):
                guard let primary, let link = standbyLink, standbyLinkStreaming else { continue }
                simulation.send(.heartbeat(epoch: primary.epoch, lastWrittenLSN: lastLSN, sentAtMilliseconds: sentAt), on: link, from: index)
            case .becomePrimary(let epoch, let alone):
                becomePrimary(epoch: epoch, acknowledgeAlone: alone)
            case .becomeStandby(let epoch, _):
                becomeStandby(epoch: epoch)
            case .acknowledgeAlone(let alone):
                if primary != nil { perform(primary!.setAcknowledgesAlone(alone)) }
            case .leaseAcquired:
                flushReleasedWrites()
            case .fencePeer:
                break  // FENCE is not simulated yet (docs/simulation.md); the sim's records carry no identity
            }
        }
    }

    func becomePrimary(epoch: Epoch, acknowledgeAlone: Bool) {
        simulation.note("\(name) becomes primary of epoch \(epoch) (acknowledge alone: \(acknowledgeAlone), last LSN \(lastLSN))")
        simulation.statistics.promotions += 1
        persist(epoch: epoch)
        dropStandbyState()
        trimHistoryToLog()
        if epoch > history.currentEpoch {
            guard lastLSN.next >= history.lastEntry.firstLSN else {
                simulation.checker.fail("\(name) cannot begin epoch \(epoch) at LSN \(lastLSN.next): its persisted history \(history) begins epoch \(history.currentEpoch) later, at LSN \(history.lastEntry.firstLSN) (records lost in a crash after the epoch was persisted)", simulation)
                return
            }
            history.begin(epoch: epoch, at: lastLSN.next)
            persistHistory()
        }
        simulation.checker.becamePrimary(self, epoch: epoch, simulation: simulation)
        gate.restart(at: lastLSN)
        primary = PrimaryReplication(mode: simulation.options.mode, epoch: epoch, history: history, maxWaitingRecords: 1_000,
                                     syncTimeoutMilliseconds: 2_000, windowBytes: 16 << 10, lastWrittenLSN: lastLSN,
                                     writtenRecordCapacity: 4_096)
        perform(primary!.setAcknowledgesAlone(acknowledgeAlone))
    }

    func becomeStandby(epoch: Epoch) {
        simulation.note("\(name) becomes standby in epoch \(epoch) (last LSN \(lastLSN))")
        persist(epoch: epoch)
        failHeldWrites("ERR write outcome unknown: this node stopped being primary")
        primary = nil
        if let link = standbyLink { simulation.close(connection: link, by: index) }
        standbyLink = nil
        standbyLinkStreaming = false
        dropStandbyState()
        syncLogNow()
        trimHistoryToLog()
        standby = StandbyReplication(epoch: max(epoch, history.currentEpoch), history: history, lastLSN: lastLSN,
                                     lastRecordChecksum: log.last?.checksum)
        nextConnectAtMilliseconds = now
        reconnectDelayMilliseconds = 100
    }

    private func dropStandbyState() {
        if let link = primaryLink { simulation.close(connection: link, by: index) }
        primaryLink = nil
        standby = nil
    }

    func failHeldWrites(_ message: String) {
        for write in heldWrites { answer(write, .failed(message)) }
        heldWrites = []
    }

    func answer(_ write: HeldWrite, _ answer: ClientAnswer) {
        simulation.sendDatagram(from: index, to: write.client, .clientAnswer(operation: write.operation, answer))
    }
}
