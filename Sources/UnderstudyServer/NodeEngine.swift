import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyStorage

/// The data node's state: keyspace, write-ahead log and the durability gate, all owned by
/// one event loop (as Redis owns its data with one thread), so no locks are needed.
///
/// Writes flow: a handler calls `execute` → the keyspace applies the command and returns
/// effects → they are appended to the WAL buffer → at the end of the loop iteration one
/// `write(2)` carries every record appended in it → one `fdatasync` on the sync thread
/// covers every record written before it started (group commit). A reply carries the LSN
/// it depends on and MUST NOT be sent before `visibleLSN` reaches it.
///
/// Every method MUST be called on `eventLoop`.
final class NodeEngine: @unchecked Sendable {
    let eventLoop: any EventLoop
    let configuration: ServerConfiguration
    let logger: Logger
    let startedAtMonotonicMilliseconds: Int64
    /// Every series this node reports (made once against the bootstrapped metrics factory).
    let metrics: ServerMetrics

    var keyspace: Keyspace
    /// Replaced only when a standby installs a snapshot from its primary or cuts off a
    /// divergent suffix; `walGeneration` counts the replacements, so that a sync job of
    /// the old log that completes afterwards advances nothing.
    var wal: WALWriter {
        didSet { walGeneration += 1 }
    }
    private var walGeneration = 0
    private let syncPool: NIOThreadPool
    private let snapshotPool: NIOThreadPool
    /// Zero-fills the next WAL segment ahead of need (`WALSegmentPreparation`), apart from
    /// the sync thread so that a preparation never delays a group commit's `fdatasync`.
    private let preparationPool: NIOThreadPool
    private var random = SystemRandomNumberGenerator()

    /// The node's whole protocol (role, epochs, lease, replication, the gate); this class
    /// carries out its actions.
    var node: DataNode

    /// Runs a read of the node on every request. `node.refusal(…)` straight on this class's
    /// stored struct copies the whole `DataNode` for the call (a retain and a release per
    /// field: 2–4 % of a GET at -P 16); through an `inout` access nothing else can change it
    /// meanwhile, so the optimizer borrows it in place. `body` MUST only read.
    func readNode<Result>(_ body: (inout DataNode) -> Result) -> Result {
        body(&node)
    }
    var visibleLSN: LSN { node.gate.acknowledgedLSN }
    /// Records up to here are on disk (fdatasync returned).
    var durableLSN: LSN
    private var flushScheduled = false
    private var syncInFlight = false
    private var groupCommit: GroupCommitPolicy
    private var groupCommitTimer: Scheduled<Void>?
    /// The first write or sync error; once set the node refuses writes until restarted.
    var walFailure: String? { node.logFailure }

    private var pendingSnapshot: (keyspace: Keyspace, lsn: LSN, lastRecordChecksum: UInt32?)?
    private var snapshotInFlight = false
    private(set) var lastSnapshotLSN: LSN
    private(set) var lastSnapshotUnixMilliseconds: Int64?
    private var bytesWrittenAtLastSnapshot: Int64 = 0

    private var clients: [ObjectIdentifier: ClientHandler] = [:]
    /// `closeClientConnections` will close the connections at the next turn of the loop.
    private var clientCloseScheduled = false
    private var waiters: [ObjectIdentifier: ClientHandler] = [:]
    /// Primary or standby state when this node is one of a pair (`--peer`).
    var replication: ReplicationShellState
    private var nextClientID: Int64 = 1
    var statistics = ServerStatistics()
    /// Failed authentications per client address (ClientHandler+Authentication.swift).
    var authenticationThrottle = AuthenticationThrottle()
    private var isShuttingDown = false
    /// The pending `drain()` and the closes of the connections it is waiting for.
    private var pendingDrain: (promise: EventLoopPromise<Void>, closes: [EventLoopFuture<Void>])?
    /// What `drain()` returned: completed once, by the drain or by its deadline.
    private var drainCompletion: EventLoopPromise<Void>?
    /// Role changes, failovers, switchovers, …: logged and kept for `/events` and `EVENTS`.
    var events = EventLog()
    /// `understudy drain` or SIGTERM arrived: `/health` answers 503 from now on.
    var drainRequested = false
    /// Closes the client listener (set by `DataNodeService` once it listens).
    var onDrainRequested: (() -> Void)?

    init(
        eventLoop: any EventLoop,
        configuration: ServerConfiguration,
        recovered: RecoveredState,
        wal: WALWriter,
        history: EpochHistory,
        logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.logger = logger
        self.metrics = ServerMetrics(factory: configuration.metricsFactory ?? MetricsSystem.factory)
        self.keyspace = recovered.keyspace
        self.wal = wal
        self.node = DataNode(
            configuration: DataNode.Configuration(pair: configuration.replication?.dataNodePair),
            history: history, lastLSN: recovered.lastLSN, lastRecordChecksum: recovered.lastRecordChecksum)
        self.durableLSN = recovered.lastLSN
        self.lastSnapshotLSN = recovered.snapshotLSN
        self.startedAtMonotonicMilliseconds = WallClock.monotonicMilliseconds()
        self.listeningPort = configuration.port
        self.replication = ReplicationShellState(configuration: configuration, walBytesWritten: wal.totalBytesWritten)
        keyspace.deletesExpiredKeys = node.pairRole != .standby
        self.groupCommit = GroupCommitPolicy(maxDelayNanoseconds: configuration.groupCommitMaxDelayNanoseconds)
        self.syncPool = NIOThreadPool(numberOfThreads: 1)
        self.snapshotPool = NIOThreadPool(numberOfThreads: 1)
        self.preparationPool = NIOThreadPool(numberOfThreads: 1)
        syncPool.start()
        snapshotPool.start()
        preparationPool.start()
    }

    var lastAppendedLSN: LSN { wal.lastAppendedLSN }
    var isStopping: Bool { isShuttingDown }
    var epoch: Epoch { node.epoch }

    // MARK: Commands

    /// Executes a keyspace command; returns its reply and the LSN the reply depends on.
    func execute(_ command: Command, isWrite: Bool) -> (reply: Reply, requiredLSN: LSN) {
        eventLoop.assertInEventLoop()
        statistics.totalCommandsProcessed += 1
        let now = WallClock.monotonicMilliseconds()
        if let refusal = readNode({ $0.refusal(isWrite: isWrite, nowMilliseconds: now) }) {
            metrics.refused(Self.refusalReason(of: refusal))
            // Nothing ran and the refusal reveals no data. After a log failure or a full disk
            // every reply above the gate was failed already, so none waits for it (a refusal
            // that waited for `lastAppendedLSN` would wait for a record that never becomes durable).
            if case .limit(let message) = refusal, message.hasPrefix("NOREPLICAS") {  // not the stepped-down READONLY
                statistics.rejectedWaitingWrites += 1
            }
            return (.error(text(of: refusal)), .zero)
        }
        let execution = keyspace.execute(
            command, nowMilliseconds: WallClock.nowMilliseconds(), random: &random)
        if !execution.effects.isEmpty, !log(execution.effects) {
            return (.error("ERR write not persisted: \(walFailure ?? "WAL append failed")"), wal.lastAppendedLSN)
        }
        return (execution.reply, wal.lastAppendedLSN)
    }

    /// Appends one record and schedules the loop-end write; false if the log refused it.
    func log(_ effects: [Effect]) -> Bool {
        do {
            _ = try wal.append(epoch: epoch, effects: effects)
        } catch {
            failWAL("WAL append failed: \(error)")
            return false
        }
        statistics.walRecordsAppended += 1
        node.appended(upTo: wal.lastAppendedLSN, checksum: wal.lastRecordChecksum)
        scheduleFlush()
        return true
    }

    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        // Tasks run after the loop has handled every readable channel: one write per pass.
        eventLoop.execute { self.flush() }
    }

    func flush() {
        flushScheduled = false
        guard walFailure == nil else { return }
        let written: LSN
        do {
            written = try wal.writePending()
        } catch where WALWriter.isOutOfSpace(error) {
            diskFilled(error)
            return
        } catch {
            failWAL("WAL write failed: \(error)")
            return
        }
        let bytes = wal.totalBytesWritten - replication.bytesReportedWritten
        replication.bytesReportedWritten = wal.totalBytesWritten
        perform(node.written(upTo: written, bytes: bytes, nowMilliseconds: WallClock.monotonicMilliseconds()))
        switch configuration.fsyncPolicy {
        case .always:
            considerSync()
        case .everysec, .no:
            // A standby, and a sync-mode primary waiting for its standby, count a write only
            // once it is synced (`DataNode.syncsEveryWrite`); the rest count it once written.
            if node.syncsEveryWrite {
                startSyncIfNeeded()
            } else {
                perform(node.locallyDurable(upTo: written, nowMilliseconds: WallClock.monotonicMilliseconds()))
                if pendingSnapshot != nil { startSyncIfNeeded() }
            }
        }
        considerSnapshot()
        prepareNextSegmentIfNeeded()
    }

    // MARK: Group commit

    /// Starts one fdatasync on the sync thread covering everything written so far, unless
    /// one is already running (the next starts when it returns: that is the group commit).
    func startSyncIfNeeded() {
        guard !syncInFlight, walFailure == nil, let job = wal.makeSyncJob() else { return }
        syncInFlight = true
        let generation = walGeneration
        let metrics = self.metrics
        syncPool.runIfActive(eventLoop: eventLoop) { () throws -> LSN in
            let started = WallClock.monotonicNanoseconds()
            let lsn = try job.run()
            metrics.walFsyncDuration.recordNanoseconds(WallClock.monotonicNanoseconds() - started)
            return lsn
        }.whenComplete { result in
            self.syncInFlight = false
            guard generation == self.walGeneration else {
                self.startSyncIfNeeded()  // the log was replaced: its LSNs mean nothing now
                return
            }
            switch result {
            case .success(let lsn):
                self.statistics.fsyncCount += 1
                if lsn > self.durableLSN { metrics.groupCommitRecords.record(Int64(lsn.rawValue - self.durableLSN.rawValue)) }
                self.durableLSN = max(self.durableLSN, lsn)
                let now = WallClock.monotonicMilliseconds()
                if self.configuration.fsyncPolicy == .always || self.node.syncsEveryWrite {
                    let released = self.perform(self.node.locallyDurable(upTo: lsn, nowMilliseconds: now))
                    self.groupCommit.syncCompleted(releasedConnections: released)
                }
                self.perform(self.node.synced(upTo: lsn, nowMilliseconds: now))
                self.startPendingSnapshotIfDurable()
                self.finishDrainIfDurable()
                if self.isShuttingDown || self.pendingSnapshot != nil {
                    self.startSyncIfNeeded()
                } else if self.configuration.fsyncPolicy == .always || self.node.syncsEveryWrite {
                    self.considerSync()
                }
            case .failure(let error):
                self.failWAL("WAL fdatasync failed: \(error)")
                self.finishDrainIfDurable()
            }
        }
    }

    /// Runs the writer's preparation of its next segment file off the loop, if it wants one
    /// (`WALWriter.makePreparationJob` decides). A failure only costs the next rollover
    /// its preallocation: it is logged, and the writer creates that segment on the spot.
    func prepareNextSegmentIfNeeded() {
        guard let job = wal.makePreparationJob() else { return }
        let generation = walGeneration
        preparationPool.runIfActive(eventLoop: eventLoop) { try job.run() }.whenComplete { result in
            guard generation == self.walGeneration else { return }  // that writer is gone
            if case .failure(let error) = result {
                self.logger.warning("Preparing the next WAL segment failed; the next rollover creates its segment on the spot: \(error)")
            }
            self.wal.preparationFinished(result)
        }
    }

    /// Asks the group-commit policy whether the next fdatasync should start now.
    private func considerSync() {
        guard !syncInFlight, walFailure == nil else { return }
        let now = WallClock.monotonicNanoseconds()
        switch groupCommit.decide(
            recordsWaiting: wal.lastWrittenLSN > durableLSN, waitingConnections: waiters.count, nowNanoseconds: now)
        {
        case .nothingToSync:
            return
        case .startNow:
            groupCommitTimer?.cancel()
            groupCommitTimer = nil
            startSyncIfNeeded()
        case .waitUntil(let deadline):
            guard groupCommitTimer == nil else { return }
            groupCommitTimer = eventLoop.scheduleTask(in: .nanoseconds(deadline - now)) {
                self.groupCommitTimer = nil
                self.considerSync()
            }
        }
    }

    /// `.release(upTo:)`: held replies up to `lsn` go out. Returns how many connections it released.
    @discardableResult
    func releaseHeldReplies(upTo lsn: LSN) -> Int {
        guard !waiters.isEmpty else { return 0 }
        let released = waiters
        waiters.removeAll(keepingCapacity: true)
        for handler in released.values {
            handler.releaseReplies(upTo: lsn)
        }
        return released.count
    }

    /// `.fail`: answers `-message` to every held reply that needs an LSN in `after+1 ... through`
    /// (the node never asks for one at or below what the gate has not acknowledged).
    func failHeldReplies(after: LSN, through: LSN, message: String) {
        let affected = waiters
        waiters.removeAll(keepingCapacity: true)
        for handler in affected.values {
            handler.failReplies(after: after, through: through, message: message)
        }
    }

    /// Called by a handler holding replies that wait for `visibleLSN`.
    func waitForVisibility(_ handler: ClientHandler) {
        waiters[ObjectIdentifier(handler)] = handler
    }

    /// The log failed: the node refuses writes from now on and fails what it held.
    func failWAL(_ reason: String) {
        perform(node.logFailed(reason))  // the node keeps the first failure and ignores the rest
    }

    // MARK: Expiry

    /// Deletes a sample of expired keys through logged deletions (never silently).
    func runExpiryCycle() {
        // The node decides (a standby's deletions come from the primary's log).
        guard walFailure == nil, node.mayExpireKeys(nowMilliseconds: WallClock.monotonicMilliseconds()) else { return }
        let effects = keyspace.expireSample(
            nowMilliseconds: WallClock.nowMilliseconds(),
            maximumKeys: configuration.expiryCycleMaxKeys,
            random: &random)
        guard !effects.isEmpty else { return }
        statistics.expiredKeys += Int64(effects.count)
        _ = log(effects)
    }

    /// Forces the WAL to disk about once a second under `--fsync everysec`.
    func runEverySecondSync() {
        startSyncIfNeeded()
    }

    // MARK: Snapshots

    private func considerSnapshot() {
        guard !snapshotInFlight, pendingSnapshot == nil, !isShuttingDown,
              wal.totalBytesWritten - bytesWrittenAtLastSnapshot >= configuration.snapshotThresholdBytes
        else { return }
        requestSnapshot()
    }

    /// Captures the keyspace now (copy-on-write) and writes it once the WAL up to the
    /// captured LSN is durable, so a snapshot never covers records the WAL could lose.
    func requestSnapshot() {
        guard !snapshotInFlight, pendingSnapshot == nil else { return }
        pendingSnapshot = (keyspace, wal.lastAppendedLSN, wal.lastRecordChecksum)
        bytesWrittenAtLastSnapshot = wal.totalBytesWritten
        scheduleFlush()
        startSyncIfNeeded()
        startPendingSnapshotIfDurable()
    }

    private func startPendingSnapshotIfDurable() {
        guard let pending = pendingSnapshot, durableLSN >= pending.lsn, !snapshotInFlight else { return }
        pendingSnapshot = nil
        snapshotInFlight = true
        let directory = configuration.dataDirectory
        let retention = configuration.walRetentionBytes
        let epoch = self.epoch
        let started = WallClock.monotonicMilliseconds()
        let activeSegmentFirstLSN = wal.activeSegmentFirstLSN
        let logger = self.logger
        snapshotPool.runIfActive(eventLoop: eventLoop) { () throws -> SnapshotInfo in
            if let code = BackgroundPriority.lowerCurrentThread() {
                logger.warning("cannot lower the snapshot thread's priority; it competes with clients for CPU", metadata: ["errno": "\(code)"])
            }
            let info = try SnapshotWriter.write(
                keyspace: pending.keyspace, lsn: pending.lsn, epoch: epoch,
                lastRecordChecksum: pending.lastRecordChecksum, dataDirectory: directory)
            // Prune only what the oldest kept snapshot covers, so recovery can still fall
            // back to it if the newest one is ever found damaged.
            let oldestKept = try SnapshotFormat.list(dataDirectory: directory).map(\.lsn).min() ?? info.lsn
            _ = try WALSegments.prune(
                dataDirectory: directory, coveredBy: oldestKept, retainBytes: retention,
                activeSegmentFirstLSN: activeSegmentFirstLSN)
            return info
        }.whenComplete { result in
            self.snapshotInFlight = false
            switch result {
            case .success(let info):
                self.statistics.snapshotsTaken += 1
                self.metrics.snapshotTaken(bytes: info.fileBytes, durationMilliseconds: WallClock.monotonicMilliseconds() - started)
                self.lastSnapshotLSN = pending.lsn
                self.lastSnapshotUnixMilliseconds = WallClock.nowMilliseconds()
                self.logger.info("snapshot written", metadata: [
                    "lsn": "\(pending.lsn)", "keys": "\(pending.keyspace.count)",
                    "bytes": "\(info.fileBytes)",
                    "milliseconds": "\(WallClock.monotonicMilliseconds() - started)",
                ])
            case .failure(let error):
                self.logger.error("snapshot failed; the WAL is kept", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Clients

    /// Registers a new connection; returns its client ID, or the error that refuses it.
    func clientConnected(_ handler: ClientHandler) -> Result<Int64, RefusedConnection> {
        statistics.totalConnectionsReceived += 1
        metrics.connections.increment()
        guard !isShuttingDown else {
            statistics.rejectedConnections += 1
            metrics.refused(.shuttingDown)
            return .failure(RefusedConnection(message: "ERR server is shutting down"))
        }
        guard clients.count < configuration.maxConnections else {
            statistics.rejectedConnections += 1
            metrics.refused(.maxConnections)
            return .failure(RefusedConnection(message: "ERR max number of clients reached"))
        }
        clients[ObjectIdentifier(handler)] = handler
        metrics.connectedClients.record(clients.count)
        defer { nextClientID += 1 }
        return .success(nextClientID)
    }

    /// The port clients reach this node on (the bound one when `--listen` said port 0).
    var listeningPort: Int = 0

    func clientDisconnected(_ handler: ClientHandler) {
        clients.removeValue(forKey: ObjectIdentifier(handler))
        metrics.connectedClients.record(clients.count)
        waiters.removeValue(forKey: ObjectIdentifier(handler))
        waitingClientDisconnected(handler)
    }

    var connectedClientCount: Int { clients.count }

    /// The node stopped being primary (stepped down, or follows a new primary): close the
    /// connections of its clients, as Sentinel's `CLIENT KILL TYPE normal` does on a
    /// reconfiguration, so that clients waiting on this node re-discover the primary at
    /// once. Replication and witness links are not client connections.
    ///
    /// On the next turn of the event loop, after the action list under way — and with it
    /// the failing or releasing of held replies and the end of a switchover — is carried
    /// out; each connection then closes once every request it sent has its answer
    /// (`ClientHandler.closeWhenAnswered`). Connections opened after this call stay.
    func closeClientConnections(reason: String) {
        let handlers = Array(clients.values)
        guard !handlers.isEmpty, !clientCloseScheduled else { return }  // a step-down and a follow in one list: once
        clientCloseScheduled = true
        logger.notice("closing client connections: this node is no longer primary", metadata: [
            "connections": "\(handlers.count)", "reason": "\(reason)",
        ])
        let bound = NIOLoopBound(handlers, eventLoop: eventLoop)
        eventLoop.execute {
            self.clientCloseScheduled = false
            for handler in bound.value { handler.closeWhenAnswered() }
        }
    }

    var clientHandlers: some Collection<ClientHandler> { clients.values }

    // MARK: Shutdown

    /// Stops taking requests, writes and syncs everything appended, releases every held
    /// reply, and closes the client connections once their replies are out.
    ///
    /// Connections MUST stop taking requests when the drain starts: a client that keeps
    /// pipelining writes would otherwise postpone the shutdown for as long as it writes.
    func drain() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        isShuttingDown = true
        perform(node.shutdownBegan())
        replication.witnessLink?.close()
        let promise = eventLoop.makePromise(of: Void.self)
        pendingDrain = (promise, clients.values.map { $0.closeAfterFlush() })
        flush()
        startSyncIfNeeded()
        finishDrainIfDurable()
        // In-flight requests get `--drain-timeout`; past it the node stops anyway (what was
        // acknowledged is durable already; a reply still held is answered by no one).
        let outer = eventLoop.makePromise(of: Void.self)
        drainCompletion = outer
        promise.futureResult.whenComplete { _ in self.completeDrain() }
        let deadline = eventLoop.scheduleTask(in: .milliseconds(configuration.drainTimeoutMilliseconds)) {
            guard self.drainCompletion != nil else { return }
            self.logger.warning("drain deadline passed: stopping with connections still open", metadata: [
                "drain_timeout_ms": "\(self.configuration.drainTimeoutMilliseconds)", "clients": "\(self.clients.count)",
            ])
            let unfinished = self.pendingDrain
            self.pendingDrain = nil
            unfinished?.promise.succeed()
            self.completeDrain()
        }
        outer.futureResult.whenComplete { _ in deadline.cancel() }
        return outer.futureResult
    }

    private func completeDrain() {
        guard let completion = drainCompletion else { return }
        drainCompletion = nil
        completion.succeed()
    }

    /// Completes `drain()` once every written record is durable (or the log has failed)
    /// and every connection has closed.
    private func finishDrainIfDurable() {
        guard let drain = pendingDrain else { return }
        guard walFailure != nil || (durableLSN >= wal.lastWrittenLSN && !syncInFlight) else { return }
        pendingDrain = nil
        perform(node.shutdownDurable(nowMilliseconds: WallClock.monotonicMilliseconds()))
        EventLoopFuture.andAllComplete(drain.closes, on: eventLoop).cascade(to: drain.promise)
    }

    /// Stops the background threads; call after `drain()` and outside the event loop.
    func shutdownThreads() async throws {
        try await syncPool.shutdownGracefully()
        try await snapshotPool.shutdownGracefully()
        try await preparationPool.shutdownGracefully()
    }
}

/// Why a new connection was turned away; its message is sent before closing.
struct RefusedConnection: Error {
    var message: String
}
