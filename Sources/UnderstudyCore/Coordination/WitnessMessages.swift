/// What a data node asks the witness. On the wire each request is one RESP command,
/// `WITNESS <VERB> ...` (so `redis-cli -p <witness> WITNESS STATUS` works too):
///
/// ```
/// WITNESS HELLO     <node> <hint primary|standby|-> <epoch> <last-lsn> [<cluster|-> [<last-record-epoch>]]
/// WITNESS HEARTBEAT <node> <epoch> <mode> <lease-ms> <last-written-lsn> <standby-durable-lsn|-> <standby-lag-bytes|->
///                   [<commit-lsn> <cluster|-> [<standby-attached 1|0> [<forced-from-epoch>]]]
/// WITNESS VOTE      <node> <new-epoch> <durable-lsn> <max-lag-bytes> [<cluster|-> [<durable-record-epoch>]]
/// WITNESS SYNC      <node> <epoch> <0|1> <sequence>
/// WITNESS HANDOVER  <node> <epoch> <to> <staying 1|leaving 0> [<last-lsn>]
/// WITNESS FORCE     <node> <new-epoch>
/// WITNESS STATUS
/// ```
/// Nodes are named by their client address (`--listen`). A record epoch is the epoch the
/// log's record at that LSN was written in (0: no record); a witness that lost its record
/// ranks the nodes' logs by (record epoch, LSN), as a log is compared, not by the epoch each
/// node has heard of.
public enum WitnessRequest: Hashable, Sendable {
    /// A node starting up asks who is primary (and, for a new cluster, offers its hint).
    /// `lastRecordEpoch` is the epoch of the record at `lastLSN` (nil: not sent, an older node).
    case hello(node: String, hint: ReplicationRole?, epoch: Epoch, lastLSN: LSN, clusterID: String? = nil,
               lastRecordEpoch: Epoch? = nil)
    /// The primary's heartbeat: an answer renews its lease.
    case heartbeat(WitnessHeartbeat)
    /// A standby that lost its primary asks to become primary of `epoch`; in async mode it
    /// is eligible only if it lags by at most `maxLagBytes` (its `--max-lag-on-failover`).
    /// `clusterID` is the candidate's persisted identity: one without it (an emptied data
    /// directory) holds nothing of the cluster and gets no vote.
    /// `durableRecordEpoch` is the epoch of the record at `durableLSN` (nil: not sent).
    case vote(node: String, epoch: Epoch, durableLSN: LSN, maxLagBytes: Int64, clusterID: String? = nil,
              durableRecordEpoch: Epoch? = nil)
    /// The primary records whether its standby holds every acknowledged write. `sequence`
    /// grows with each such request of the primary's, so a late one changes nothing.
    case standbySync(node: String, epoch: Epoch, inSync: Bool, sequence: UInt64)
    /// Planned switchover: the primary of `epoch`, holding every new write and with its
    /// standby `to` holding every record, hands it the next epoch. A primary that is
    /// `leaving` (shutting down) will not be an in-sync standby: the new primary may then
    /// acknowledge alone at once.
    /// `lastLSN` is the primary's last record, which `to` holds: its vote for the next
    /// epoch is confirmed only if it still offers at least that much.
    case handover(node: String, epoch: Epoch, to: String, leaving: Bool, lastLSN: LSN = .zero)
    /// Forced promotion by an operator: `node` becomes primary of `epoch`, eligible or not.
    case force(node: String, epoch: Epoch)
    /// An operator (or `understudy status`) reads the record.
    case status

    public static let commandName = "WITNESS"

    /// The command as RESP arguments, the command name first.
    public var arguments: [[UInt8]] {
        let words: [String]
        switch self {
        case .hello(let node, let hint, let epoch, let lastLSN, let clusterID, let lastRecordEpoch):
            words = ["HELLO", node, hint?.rawValue ?? "-", "\(epoch)", "\(lastLSN)", clusterID ?? "-"]
                + (lastRecordEpoch.map { ["\($0)"] } ?? [])
        case .heartbeat(let beat):
            words = ["HEARTBEAT", beat.node, "\(beat.epoch)", beat.mode.rawValue, "\(beat.leaseMilliseconds)",
                     "\(beat.lastWrittenLSN)", beat.standbyDurableLSN.map { "\($0)" } ?? "-",
                     beat.standbyLagBytes.map { "\($0)" } ?? "-", "\(beat.commitLSN)", beat.clusterID ?? "-",
                     beat.standbyAttached ? "1" : "0"] + (beat.forcedFromEpoch.map { ["\($0)"] } ?? [])
        case .vote(let node, let epoch, let durableLSN, let maxLagBytes, let clusterID, let durableRecordEpoch):
            words = ["VOTE", node, "\(epoch)", "\(durableLSN)", "\(maxLagBytes)", clusterID ?? "-"]
                + (durableRecordEpoch.map { ["\($0)"] } ?? [])
        case .standbySync(let node, let epoch, let inSync, let sequence):
            words = ["SYNC", node, "\(epoch)", inSync ? "1" : "0", "\(sequence)"]
        case .handover(let node, let epoch, let to, let leaving, let lastLSN):
            words = ["HANDOVER", node, "\(epoch)", to, leaving ? "0" : "1", "\(lastLSN)"]
        case .force(let node, let epoch):
            words = ["FORCE", node, "\(epoch)"]
        case .status:
            words = ["STATUS"]
        }
        return ([Self.commandName] + words).map { Array($0.utf8) }
    }

    /// Parses a request from its RESP arguments (the command name first, any case).
    /// - Throws: `ReplicationError.malformedWitnessMessage` naming the bad field.
    public init(arguments: [[UInt8]]) throws {
        guard arguments.count >= 2 else { throw Self.malformed("missing verb") }
        let verb = String(decoding: arguments[1], as: UTF8.self).uppercased()
        let fields = Array(arguments.dropFirst(2))
        func expect(_ count: Int, orWithOptional extras: Int...) throws {
            guard fields.count == count || extras.contains(fields.count - count) else {
                throw Self.malformed("WITNESS \(verb) takes \(count + (extras.max() ?? 0)) arguments, got \(fields.count)")
            }
        }
        switch verb {
        case "HELLO":
            try expect(4, orWithOptional: 1, 2)
            let hintText = String(decoding: fields[1], as: UTF8.self)
            let hint: ReplicationRole?
            if hintText == "-" { hint = nil } else {
                guard let role = ReplicationRole(rawValue: hintText) else { throw Self.malformed("bad role hint '\(hintText)'") }
                hint = role
            }
            self = .hello(node: try Self.node(fields[0]), hint: hint, epoch: Epoch(try Self.number(fields[2], "epoch")),
                          lastLSN: LSN(try Self.number(fields[3], "last LSN")),
                          clusterID: fields.count > 4 ? try Self.clusterID(fields[4]) : nil,
                          lastRecordEpoch: fields.count > 5 ? Epoch(try Self.number(fields[5], "last record epoch")) : nil)
        case "HEARTBEAT":
            guard [7, 9, 10, 11].contains(fields.count) else {
                throw Self.malformed("WITNESS HEARTBEAT takes 10 or 11 arguments, got \(fields.count)")
            }
            if fields.count >= 10, fields[9] != Array("0".utf8), fields[9] != Array("1".utf8) {
                throw Self.malformed("bad standby-attached flag")
            }
            let modeText = String(decoding: fields[2], as: UTF8.self)
            guard let mode = ReplicationMode(rawValue: modeText) else { throw Self.malformed("bad mode '\(modeText)'") }
            let lease = try Self.number(fields[3], "lease")
            let lag = try Self.optionalNumber(fields[6], "standby lag")
            guard lease <= UInt64(Int64.max), (lag ?? 0) <= UInt64(Int64.max) else { throw Self.malformed("a number is out of range") }
            self = .heartbeat(WitnessHeartbeat(
                node: try Self.node(fields[0]), epoch: Epoch(try Self.number(fields[1], "epoch")), mode: mode,
                leaseMilliseconds: Int64(lease), lastWrittenLSN: LSN(try Self.number(fields[4], "last written LSN")),
                standbyDurableLSN: try Self.optionalNumber(fields[5], "standby durable LSN").map { LSN($0) },
                standbyLagBytes: lag.map { Int64($0) },
                commitLSN: fields.count > 7 ? LSN(try Self.number(fields[7], "commit LSN")) : .zero,
                clusterID: fields.count > 8 ? try Self.clusterID(fields[8]) : nil,
                standbyAttached: fields.count > 9 && fields[9] == Array("1".utf8),
                forcedFromEpoch: fields.count > 10 ? Epoch(try Self.number(fields[10], "forced-from epoch")) : nil))
        case "VOTE":
            try expect(4, orWithOptional: 1, 2)
            let maxLag = try Self.number(fields[3], "max lag")
            guard maxLag <= UInt64(Int64.max) else { throw Self.malformed("max lag out of range") }
            self = .vote(node: try Self.node(fields[0]), epoch: Epoch(try Self.number(fields[1], "epoch")),
                         durableLSN: LSN(try Self.number(fields[2], "durable LSN")), maxLagBytes: Int64(maxLag),
                         clusterID: fields.count > 4 ? try Self.clusterID(fields[4]) : nil,
                         durableRecordEpoch: fields.count > 5 ? Epoch(try Self.number(fields[5], "durable record epoch")) : nil)
        case "SYNC":
            try expect(4)
            let flag = String(decoding: fields[2], as: UTF8.self)
            guard flag == "0" || flag == "1" else { throw Self.malformed("bad in-sync flag '\(flag)'") }
            self = .standbySync(node: try Self.node(fields[0]), epoch: Epoch(try Self.number(fields[1], "epoch")), inSync: flag == "1",
                                sequence: try Self.number(fields[3], "sequence"))
        case "HANDOVER":
            try expect(4, orWithOptional: 1)
            let staying = String(decoding: fields[3], as: UTF8.self)
            guard staying == "0" || staying == "1" else { throw Self.malformed("bad staying flag '\(staying)'") }
            self = .handover(node: try Self.node(fields[0]), epoch: Epoch(try Self.number(fields[1], "epoch")), to: try Self.node(fields[2]),
                             leaving: staying == "0", lastLSN: fields.count > 4 ? LSN(try Self.number(fields[4], "last LSN")) : .zero)
        case "FORCE":
            try expect(2)
            self = .force(node: try Self.node(fields[0]), epoch: Epoch(try Self.number(fields[1], "epoch")))
        case "STATUS":
            try expect(0)
            self = .status
        default:
            throw Self.malformed("unknown verb '\(verb)' (HELLO, HEARTBEAT, VOTE, SYNC, HANDOVER, FORCE, STATUS)")
        }
    }

    /// The longest node name accepted (a host:port).
    public static let maximumNodeBytes = 261

    private static func node(_ bytes: [UInt8]) throws -> String {
        // Printable ASCII only (a host:port): other bytes would not survive the String, so the
        // name written back (into the witness record, a reply) would not be the name received.
        guard !bytes.isEmpty, bytes.count <= maximumNodeBytes, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              bytes != Array("-".utf8) else {
            throw malformed("bad node address")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func clusterID(_ bytes: [UInt8]) throws -> String? {
        guard bytes != Array("-".utf8) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard ClusterIdentity.isValid(text) else { throw malformed("bad cluster identity") }
        return text
    }

    private static func number(_ bytes: [UInt8], _ field: String) throws -> UInt64 {
        guard let value = DecimalText.parse(bytes) else { throw malformed("bad \(field) '\(String(decoding: bytes.prefix(24), as: UTF8.self))'") }
        return value
    }

    private static func optionalNumber(_ bytes: [UInt8], _ field: String) throws -> UInt64? {
        bytes == Array("-".utf8) ? nil : try number(bytes, field)
    }

    private static func malformed(_ message: String) -> ReplicationError {
        ReplicationError(.malformedWitnessMessage, message)
    }
}

/// The primary's heartbeat to the witness, with what the witness needs to judge a later
/// vote: the mode, the lease it promises, and how far the standby is behind.
public struct WitnessHeartbeat: Hashable, Sendable {
    public var node: String
    public var epoch: Epoch
    public var mode: ReplicationMode
    public var leaseMilliseconds: Int64
    public var lastWrittenLSN: LSN
    /// The standby's last acknowledged durable LSN; nil if none is known.
    public var standbyDurableLSN: LSN?
    /// Bytes of WAL the standby lacks; nil if not known.
    public var standbyLagBytes: Int64?
    /// The last LSN the primary has acknowledged to clients: in sync mode no standby
    /// offering less may be promoted.
    public var commitLSN: LSN
    /// The cluster's identity as the primary persisted it (a witness that lost its record
    /// takes it back from here).
    public var clusterID: String?
    /// A standby is attached and streaming in this epoch: it follows this primary (so no
    /// newer primary exists) — what a witness that lost its record needs to hear of it.
    public var standbyAttached: Bool
    /// A primary by a forced promotion the witness never recorded: the epoch of the newest
    /// record it held when it took its own (nil: its epoch was granted). A witness that has since
    /// granted a higher epoch than this never lets it supersede that epoch's primary, which
    /// may hold writes it acknowledged meanwhile (the simulator's finding H).
    public var forcedFromEpoch: Epoch?

    public init(node: String, epoch: Epoch, mode: ReplicationMode, leaseMilliseconds: Int64, lastWrittenLSN: LSN,
                standbyDurableLSN: LSN?, standbyLagBytes: Int64?, commitLSN: LSN = .zero, clusterID: String? = nil,
                standbyAttached: Bool = false, forcedFromEpoch: Epoch? = nil) {
        self.standbyAttached = standbyAttached
        self.forcedFromEpoch = forcedFromEpoch
        self.commitLSN = commitLSN
        self.clusterID = clusterID
        self.node = node
        self.epoch = epoch
        self.mode = mode
        self.leaseMilliseconds = leaseMilliseconds
        self.lastWrittenLSN = lastWrittenLSN
        self.standbyDurableLSN = standbyDurableLSN
        self.standbyLagBytes = standbyLagBytes
    }
}

/// The witness's answer. On the wire: `+STATE <record text>` for every success (a granted
/// vote is a state naming the candidate as primary of the asked epoch), `-EPOCH <epoch>
/// <primary|->` when the asker is behind, `-DENIED <reason>` otherwise.
public enum WitnessReply: Hashable, Sendable {
    case state(WitnessRecord)
    case staleEpoch(Epoch, primary: String?)
    case denied(String)

    /// The reply line without its RESP type byte, and whether it is an error.
    public var line: (text: String, isError: Bool) {
        switch self {
        case .state(let record): return ("STATE \(record.text)", false)
        case .staleEpoch(let epoch, let primary): return ("EPOCH \(epoch) \(primary ?? "-")", true)
        case .denied(let reason): return ("DENIED \(reason)", true)
        }
    }

    /// Parses a reply line (a simple string or an error, without its type byte).
    /// - Throws: `ReplicationError.malformedWitnessMessage`.
    public init(line: String, isError: Bool) throws {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        switch (words.first, isError) {
        case ("STATE", false):
            self = .state(try WitnessRecord(words: Array(words.dropFirst())))
        case ("EPOCH", true):
            guard words.count == 3, let epoch = DecimalText.parse(Array(words[1].utf8)) else {
                throw ReplicationError(.malformedWitnessMessage, "bad EPOCH reply '\(line.prefix(200))'")
            }
            self = .staleEpoch(Epoch(epoch), primary: words[2] == "-" ? nil : String(words[2]))
        case ("DENIED", true):
            self = .denied(words.dropFirst().joined(separator: " "))
        default:
            throw ReplicationError(.malformedWitnessMessage, "unexpected witness reply '\(line.prefix(200))'")
        }
    }
}
