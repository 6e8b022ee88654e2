/// What the witness keeps on disk, and all it keeps: the current epoch, who is primary in
/// it, who is standby, and whether the standby is recorded as holding every acknowledged
/// write (sync mode). Persisted with fsync before any reply that depends on it.
///
/// Text form, one line: `epoch primary standby in-sync mode lease-ms cluster`, with `-`
/// for an unknown node or identity, e.g. `3 127.0.0.1:7001 127.0.0.1:7002 1 sync 500
/// 5f0c…`. A record written before the cluster identity existed has six fields.
public struct WitnessRecord: Hashable, Sendable {
    public var epoch: Epoch
    public var primary: String?
    public var standby: String?
    /// Sync mode: the standby may be promoted automatically.
    public var standbyInSync: Bool
    public var mode: ReplicationMode
    /// The longest lease a primary has asked for: a restarted witness waits this long
    /// (plus drift) before it votes, since it may have promised it before it stopped.
    public var leaseMilliseconds: Int64
    /// The cluster's identity, made at bootstrap; every node persists it and refuses a
    /// record, a stream or a FENCE of another cluster. nil only in a record from before it.
    public var clusterID: String?

    public init(epoch: Epoch, primary: String?, standby: String?, standbyInSync: Bool, mode: ReplicationMode,
                leaseMilliseconds: Int64, clusterID: String? = nil) {
        self.clusterID = clusterID
        self.epoch = epoch
        self.primary = primary
        self.standby = standby
        self.standbyInSync = standbyInSync
        self.mode = mode
        self.leaseMilliseconds = leaseMilliseconds
    }

    /// The fields as words, in text-form order.
    public var words: [String] {
        ["\(epoch.rawValue)", primary ?? "-", standby ?? "-", standbyInSync ? "1" : "0", mode.rawValue, "\(leaseMilliseconds)",
         clusterID ?? "-"]
    }

    public var text: String { words.joined(separator: " ") }

    /// Parses the words of the text form.
    /// - Throws: `ReplicationError.malformedWitnessRecord` naming the bad field.
    public init<S: StringProtocol>(words: [S]) throws {
        guard words.count == 6 || words.count == 7 else {
            throw ReplicationError(.malformedWitnessRecord, "expected 7 fields, got \(words.count)")
        }
        let clusterID = words.count == 7 ? Self.node(words[6]) : nil
        if let clusterID, !ClusterIdentity.isValid(clusterID) {
            throw ReplicationError(.malformedWitnessRecord, "bad cluster identity '\(clusterID.prefix(80))'")
        }
        guard let epoch = DecimalText.parse(Array(words[0].utf8)), epoch >= 1 else {
            throw ReplicationError(.malformedWitnessRecord, "bad epoch '\(words[0])'")
        }
        guard words[3] == "0" || words[3] == "1" else {
            throw ReplicationError(.malformedWitnessRecord, "bad in-sync flag '\(words[3])'")
        }
        guard let mode = ReplicationMode(rawValue: String(words[4])) else {
            throw ReplicationError(.malformedWitnessRecord, "bad mode '\(words[4])'")
        }
        guard let lease = DecimalText.parse(Array(words[5].utf8)), lease <= UInt64(Int64.max) else {
            throw ReplicationError(.malformedWitnessRecord, "bad lease '\(words[5])'")
        }
        self.init(epoch: Epoch(epoch), primary: Self.node(words[1]), standby: Self.node(words[2]),
                  standbyInSync: words[3] == "1", mode: mode, leaseMilliseconds: Int64(lease), clusterID: clusterID)
    }

    /// Parses the one-line text form.
    public init(text: String) throws {
        try self.init(words: text.split(separator: " ", omittingEmptySubsequences: true))
    }

    private static func node<S: StringProtocol>(_ word: S) -> String? {
        word == "-" ? nil : String(word)
    }
}
