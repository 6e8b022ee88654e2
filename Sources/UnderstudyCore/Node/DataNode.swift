/// A data node's whole protocol as one pure value: its role, epochs, lease, the primary's
/// and the standby's replication machines, switchover, forced promotion, FENCE, rejoin,
/// link backoff, admission and the durability-and-lease gate. No I/O, no clock, no
/// randomness: events come in with the time (`nowMilliseconds`, the shell's monotonic
/// clock) and the facts of the log; one ordered list of `NodeAction`s comes out.
///
/// Two shells interpret it: `NodeEngine` (threads, WAL, sockets, timers) and the
/// simulator's node (a simulated log and disk). Neither decides anything about epochs,
/// roles, leases or timeouts; every such rule is here, so the simulator tests exactly
/// what production runs.
public struct DataNode: Sendable {
    /// What the node is now. Only the cases' payloads hold role state: a primary has no
    /// standby machine, a standby no held switchover.
    public enum Role: Sendable {
        /// No `--peer`: it replicates nothing and needs no lease.
        case standalone
        /// With a witness, before it has named this node's role: it follows no one and
        /// serves nothing.
        case undecided
        case primary(PrimaryRole)
        case standby(StandbyRole)
    }

    /// A primary's state.
    public struct PrimaryRole: Sendable {
        public internal(set) var replication: PrimaryReplication
        /// A higher epoch was seen: no more writes are accepted.
        public internal(set) var supersededBy: Epoch?
        /// The standby attached on link `id`, under `address`.
        public internal(set) var standbyLink: (id: UInt64, address: String)?
        /// A planned switchover in progress.
        public internal(set) var handover: Handover?
        /// Promoted from standby with its log ending here: the first reply released past it
        /// is the new primary's first acknowledged write (`.firstWriteAcknowledged`).
        public internal(set) var promotedAtLSN: LSN?
    }

    /// A standby's state, with its link to the primary.
    public struct StandbyRole: Sendable {
        public internal(set) var replication: StandbyReplication
        public internal(set) var link: PrimaryLink = .down
        /// Reconnect no sooner than this, after `reconnectDelayMilliseconds` of backoff.
        public internal(set) var nextConnectAtMilliseconds: Int64 = 0
        public internal(set) var reconnectDelayMilliseconds: Int64 = DataNode.initialReconnectDelayMilliseconds
        /// The log diverged and the node could not repair it: shown until it streams again.
        public internal(set) var diverged = false
        /// `PROMOTE FORCE`: give up at this deadline.
        public internal(set) var forceDeadlineMilliseconds: Int64?
    }

    /// The standby's link to its primary.
    public enum PrimaryLink: Hashable, Sendable {
        case down
        case dialing
        case handshake(id: UInt64)
        case snapshot(id: UInt64, offer: SnapshotOffer)
        case streaming(id: UInt64)

        public var id: UInt64? {
            switch self {
            case .down, .dialing: return nil
            case .handshake(let id), .snapshot(let id, _), .streaming(let id): return id
            }
        }
    }

    /// What the primary said of the snapshot it is sending.
    public struct SnapshotOffer: Hashable, Sendable {
        public var lsn: LSN
        public var snapshotEpoch: Epoch
        public var primaryEpoch: Epoch
        public var history: EpochHistory
    }

    /// Where the log stands, as the shell reports it.
    public struct LogPosition: Hashable, Sendable {
        /// Appended to the log buffer (the reply of a write depends on it).
        public var appended: LSN
        /// In the WAL files (write(2) returned).
        public var written: LSN
        /// On disk (fdatasync returned).
        public var durable: LSN
        /// The checksum of the last record appended (nil: none, or state from an older
        /// snapshot whose header does not carry it).
        public var lastRecordChecksum: UInt32?
    }

    public let configuration: Configuration
    /// This node's name (its `--listen` address), known once it is bound (`started`).
    public internal(set) var node = ""
    public internal(set) var role: Role
    /// With a witness: the failover state machine (nil until `startCoordination`).
    public internal(set) var coordinator: NodeCoordinator?
    public internal(set) var history: EpochHistory
    public internal(set) var gate: AcknowledgementGate
    public internal(set) var log: LogPosition
    /// The first log failure; once set the node refuses writes until restarted.
    public internal(set) var logFailure: String?
    /// The disk was full when the log last wrote (ENOSPC): writes are refused, reads served,
    /// until the shell reports the space back (`diskSpaceReturned`). Never set with `logFailure`.
    public internal(set) var diskFull: String?
    /// The highest epoch persisted as known (`.persistKnownEpoch`).
    public internal(set) var persistedKnownEpoch = Epoch.initial
    /// The cluster identity as persisted on this node's disk.
    public internal(set) var persistedClusterID: String?
    /// The last refusal from the primary (standby), for INFO and status.
    public internal(set) var lastRefusal: String?
    public internal(set) var isStopping = false

    static let initialReconnectDelayMilliseconds: Int64 = 100
    static let maxReconnectDelayMilliseconds: Int64 = 2_000

    /// A node after recovery: its log ends at `lastLSN` (all durable), its history is `history`.
    public init(configuration: Configuration, history: EpochHistory, lastLSN: LSN, lastRecordChecksum: UInt32?) {
        self.configuration = configuration
        self.history = history
        gate = AcknowledgementGate(acknowledgedLSN: lastLSN)
        log = LogPosition(appended: lastLSN, written: lastLSN, durable: lastLSN, lastRecordChecksum: lastRecordChecksum)
        guard let pair = configuration.pair else {
            role = .standalone
            return
        }
        if pair.coordination != nil {
            role = .undecided
            return
        }
        switch pair.role {
        case .primary:
            role = .primary(PrimaryRole(replication: Self.primaryReplication(pair, epoch: history.currentEpoch, history: history, lastWrittenLSN: lastLSN)))
        case .standby:
            role = .standby(StandbyRole(replication: StandbyReplication(
                epoch: history.currentEpoch, history: history, lastLSN: lastLSN, lastRecordChecksum: lastRecordChecksum)))
        }
    }

    /// The history a node boots with: with a witness, entries for epochs that begin after
    /// the log's last record are dropped — a node that persisted a new epoch and then lost
    /// (or never wrote) its first records must not keep an entry beyond its log, or it would
    /// refuse the older-epoch records a primary sends first. The highest epoch it knew is
    /// kept apart (`DIR/epoch`, `started(knownEpoch:)`). Both shells boot through this.
    public static func bootHistory(_ persisted: EpochHistory, lastLSN: LSN, coordinated: Bool) -> EpochHistory {
        coordinated ? persisted.truncated(after: lastLSN) : persisted
    }

    static func primaryReplication(_ pair: Configuration.Pair, epoch: Epoch, history: EpochHistory, lastWrittenLSN: LSN) -> PrimaryReplication {
        PrimaryReplication(
            mode: pair.mode, epoch: epoch, history: history, maxWaitingRecords: pair.maxWaitingRecords,
            syncTimeoutMilliseconds: pair.syncTimeoutMilliseconds, windowBytes: pair.windowBytes,
            lastWrittenLSN: lastWrittenLSN, writtenRecordCapacity: pair.writtenRecordCapacity)
    }

    // MARK: What the node is

    /// The primary's state, if it is one.
    public var primary: PrimaryRole? {
        if case .primary(let primary) = role { return primary }
        return nil
    }

    /// The standby's state, if it is one.
    public var standby: StandbyRole? {
        if case .standby(let standby) = role { return standby }
        return nil
    }

    /// The role as Redis's INFO and ROLE show it: nil standalone; an undecided node shows as
    /// a standby (it takes no writes).
    public var pairRole: ReplicationRole? {
        switch role {
        case .standalone: return nil
        case .undecided, .standby: return .standby
        case .primary: return .primary
        }
    }

    /// The epoch of the log (the history's current epoch).
    public var epoch: Epoch { history.currentEpoch }

    /// The highest epoch this node knows of.
    public var knownEpoch: Epoch { coordinator.map { max($0.epoch, epoch) } ?? epoch }

    /// Whether this node may acknowledge a write or serve a read now: always without a
    /// witness; with one, while the coordinator holds its lease.
    public func mayAcknowledge(nowMilliseconds now: Int64) -> Bool {
        guard configuration.pair?.coordination != nil else { return true }
        if configuration.mutation == .ignoreLease { return true }
        return coordinator?.hasLease(nowMilliseconds: now) ?? false
    }

    /// Why a keyspace command must not run now, or nil. Decided before it runs: every
    /// refusal means "not executed".
    public func refusal(isWrite: Bool, nowMilliseconds now: Int64) -> CommandRefusal? {
        let coordinated = configuration.pair?.coordination != nil
        let facts = CommandRefusal.NodeFacts(
            pairRole: pairRole, coordinatedRole: coordinated ? coordinator?.role ?? .undecided : nil,
            hasLease: mayAcknowledge(nowMilliseconds: now), epoch: epoch, knownEpoch: knownEpoch,
            supersededBy: primary?.supersededBy, logFailure: logFailure, diskFull: diskFull)
        return CommandRefusal.of(isWrite: isWrite, node: facts) {
            self.primary?.replication.admitWrite(lastAppendedLSN: self.log.appended)
        }
    }

    /// Whether each write counts as durable here only once synced, whatever the fsync
    /// policy: a standby (or undecided node) acknowledges only what is on its disk, and a
    /// sync-mode primary that waits for its standby acknowledges a write only once it is on
    /// both disks — so a primary whose machine crashed never comes back with less than it
    /// acknowledged with its standby (a witness that restarted since would let it resume;
    /// the simulator's `--fsync everysec`). Otherwise `everysec` and `no` count a write once
    /// it is written, as Redis's `appendfsync` does.
    public var syncsEveryWrite: Bool {
        if pairRole == .standby { return true }
        guard let primary, configuration.pair?.mode == .sync else { return false }
        return !primary.replication.acknowledgesAlone
    }

    /// A switchover holds new requests.
    public var isHandingOver: Bool { primary?.handover != nil }

    /// Whether this node may delete expired keys by its own clock now: only a primary (or
    /// a standalone node) under its lease, with a working log, not during a switchover —
    /// the standby holds every record then, and a deletion now would be one it never had.
    public func mayExpireKeys(nowMilliseconds now: Int64) -> Bool {
        guard logFailure == nil, diskFull == nil, !isStopping, mayAcknowledge(nowMilliseconds: now) else { return false }
        switch role {
        case .standalone: return true
        case .primary(let primary): return primary.handover == nil && primary.supersededBy == nil
        case .undecided, .standby: return false
        }
    }

    /// How durable the write at `lsn` is: on the standby's disk too, on this one, not yet,
    /// or no write at all.
    public func durability(of lsn: LSN) -> (level: String, lsn: LSN) {
        guard lsn > .zero else { return ("none", lsn) }
        if let standbyDurable = primary?.replication.standbyDurableLSN, standbyDurable >= lsn { return ("replica", lsn) }
        return (log.durable >= lsn ? "local" : "pending", lsn)
    }

    /// The standby link's state as INFO shows it.
    public var linkStatus: String {
        guard let standby else { return "none" }
        if standby.diverged { return "diverged" }
        switch standby.link {
        case .down, .dialing: return "connecting"
        case .handshake: return "handshake"
        case .snapshot: return "snapshot"
        case .streaming: return "connected"
        }
    }

    /// SIGTERM: whether a stopping primary hands over to its standby first.
    public var handsOverOnShutdown: Bool {
        guard let coordinator, let primary else { return false }
        return Handover.handsOverOnShutdown(coordinator: coordinator, standbyAttached: primary.standbyLink != nil)
    }

    // MARK: Mutating the role's payload in place

    /// Runs `body` on the primary's state in place (never a copy: the record ring would be
    /// duplicated on every event). Returns nil if this node is not a primary.
    mutating func withPrimary<T>(_ body: (inout PrimaryRole) -> T) -> T? {
        guard case .primary(var primary) = role else { return nil }
        role = .standalone  // release the payload's storage so `primary` is uniquely referenced
        defer { role = .primary(primary) }
        return body(&primary)
    }

    /// Runs `body` on the standby's state in place. Returns nil if this node is not a standby.
    mutating func withStandby<T>(_ body: (inout StandbyRole) -> T) -> T? {
        guard case .standby(var standby) = role else { return nil }
        role = .standalone
        defer { role = .standby(standby) }
        return body(&standby)
    }

    mutating func withCoordinator<T>(_ body: (inout NodeCoordinator) -> T) -> T? {
        guard coordinator != nil else { return nil }
        return body(&coordinator!)
    }
}
