import CoreMetrics
import UnderstudyCore

/// Why a connection or a request was turned away: the `reason` label of
/// `understudy_requests_refused_total`. One closed set, so the series stay bounded and every
/// refusal in the server counts under the same metric (`ServerMetrics.refused(_:)`).
enum RefusalReason: String, CaseIterable, Sendable {
    /// A connection past `--max-connections`.
    case maxConnections = "max_connections"
    /// A connection or request shed by a server-wide bulkhead.
    case loadShedding = "load_shedding"
    /// `-TRYAGAIN` from a primary without its lease.
    case lease
    /// `-TRYAGAIN` before the witness has said which role this node has.
    case roleUndecided = "role_undecided"
    /// `-READONLY`: a write on a standby.
    case readonly
    /// `-READONLY`: a write on a primary that has seen a newer epoch.
    case fenced
    /// `-NOREPLICAS`: too many sync writes waiting for the standby.
    case noreplicas
    /// A write after the write-ahead log failed.
    case logFailed = "log_failed"
    /// A write while the disk is full (ENOSPC); it passes when space returns.
    case diskFull = "disk_full"
    /// A request over a wire limit (size, arguments): the connection is closed.
    case limits
    /// A connection or request while the node drains.
    case shuttingDown = "shutting_down"
    /// A connection whose unread replies passed the per-connection output limit.
    case outputBuffer = "output_buffer"
    /// A connection closed after its idle timeout.
    case idleTimeout = "idle_timeout"
    /// A request past the per-connection in-flight limit.
    case inflight
    /// A peer-only request (REPLICATE, FENCE) from a connection that did not prove the
    /// cluster secret, a failed peer handshake, or a primary that could not prove it.
    case peerAuth = "peer_auth"
    /// A failed authentication (`AUTH`, `HELLO … AUTH`, admin HTTP Basic auth).
    case auth
}

/// How a command ended: the `result` label of `understudy_commands_total`.
enum CommandResult: Sendable {
    case ok
    /// An error reply from the command itself (wrong type, syntax, arity).
    case error
    /// Not executed because of the node's state (`RefusalReason`).
    case refused
}

/// One command's series, looked up once per request by name (never by formatting labels).
/// A class, so that the lookup hands out one reference rather than four.
final class CommandMetrics: Sendable {
    private let ok: Counter
    private let error: Counter
    private let refused: Counter
    private let duration: Timer

    init(command: String, factory: any MetricsFactory) {
        func counter(_ result: String) -> Counter {
            Counter(label: "understudy_commands_total", dimensions: [("command", command), ("result", result)], factory: factory)
        }
        ok = counter("ok")
        error = counter("error")
        refused = counter("refused")
        duration = Timer(label: "understudy_command_duration_seconds", dimensions: [("command", command)],
                         preferredDisplayUnit: .seconds, factory: factory)
    }

    func record(_ result: CommandResult, durationNanoseconds: Int64) {
        switch result {
        case .ok: ok.increment()
        case .error: error.increment()
        case .refused: refused.increment()
        }
        duration.recordNanoseconds(durationNanoseconds)
    }
}

/// What a data node reports through swift-metrics (Prometheus names and base units; the
/// list, with suggested alerts, is in docs/operations.md "Metrics"). Every series is made
/// once, here, so the hot path only increments; the label sets are closed.
///
/// A class, not a struct: every request reaches it through `NodeEngine.metrics`, and a
/// struct of some forty metric handles read out of a class property is copied there — a
/// retain and a release per handle, per request (11% of a pipelined GET's time).
final class ServerMetrics: Sendable {
    /// The `command` label of every name the node does not know.
    static let otherCommand = "other"

    /// One series per command, in `CommandTable.all`'s order.
    private let commands: [CommandMetrics]
    private let otherCommandMetrics: CommandMetrics
    private let refusals: [RefusalReason: Counter]
    let connectedClients: Gauge
    let connections: Counter
    let walFsyncDuration: Timer
    /// Records one fdatasync made durable (the group commit's batch).
    let groupCommitRecords: Recorder
    let snapshotDuration: Timer
    let snapshotSizeBytes: Gauge
    let snapshots: Counter
    private let lostWrites: Counter
    let node: NodeGauges
    let failovers: FailoverMetrics

    init(factory: any MetricsFactory) {
        commands = CommandTable.all.map { CommandMetrics(command: $0.name, factory: factory) }
        otherCommandMetrics = CommandMetrics(command: Self.otherCommand, factory: factory)
        var refusals: [RefusalReason: Counter] = [:]
        for reason in RefusalReason.allCases {
            refusals[reason] = Counter(label: "understudy_requests_refused_total", dimensions: [("reason", reason.rawValue)],
                                       factory: factory)
        }
        self.refusals = refusals
        connectedClients = Gauge(label: "understudy_connected_clients", factory: factory)
        connections = Counter(label: "understudy_connections_total", factory: factory)
        walFsyncDuration = Timer(label: "understudy_wal_fsync_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        groupCommitRecords = Recorder(label: "understudy_wal_group_commit_records", factory: factory)
        snapshotDuration = Timer(label: "understudy_snapshot_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        snapshotSizeBytes = Gauge(label: "understudy_snapshot_size_bytes", factory: factory)
        snapshots = Counter(label: "understudy_snapshots_total", factory: factory)
        lostWrites = Counter(label: "understudy_lost_writes_total", factory: factory)
        node = NodeGauges(factory: factory)
        failovers = FailoverMetrics(factory: factory)
        Gauge(label: "understudy_build_info", dimensions: [("version", ServerInfo.version)], factory: factory).record(1)
    }

    /// The series of `name` (a lowercased command name); unknown names share `other`.
    func command(named name: String) -> CommandMetrics {
        command(at: CommandTable.index(named: name))
    }

    /// The series of the command at `index` in `CommandTable.all` (`CommandTable.index(named:)`);
    /// `nil`, an unknown command, is `other`.
    func command(at index: Int?) -> CommandMetrics {
        guard let index else { return otherCommandMetrics }
        return commands[index]
    }

    /// A snapshot file was written (and the WAL it covers may go).
    func snapshotTaken(bytes: Int64, durationMilliseconds: Int64) {
        snapshots.increment()
        snapshotSizeBytes.record(bytes)
        snapshotDuration.recordMilliseconds(durationMilliseconds)
    }

    /// A rejoin cut `records` off this node's log (kept in a lost-writes file).
    func writesLost(_ records: Int) {
        lostWrites.increment(by: Int64(records))
    }

    /// Counts one refused connection or request under `reason`.
    func refused(_ reason: RefusalReason) {
        refusals[reason]?.increment()
    }
}
