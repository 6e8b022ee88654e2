/// The primary's answer to a standby's `REPLICATE`, as one RESP reply line:
///
/// ```
/// +STREAM <epoch> <from-lsn> <cluster|->
/// +SNAPSHOT <epoch> <snapshot-lsn> <bytes> <snapshot-epoch> <history> <cluster|->
/// -DIVERGED <history> cluster=<cluster|-> <reason>
/// -<anything else>          (refused: READONLY, EPOCH, ERR …)
/// ```
/// `cluster` is the primary's cluster identity (`ClusterIdentity`); a standby follows only
/// a primary of its own cluster, and learns the identity here if it has none. Older
/// primaries sent STREAM and SNAPSHOT without it; those are read with no identity.
public enum HandshakeAnswer: Hashable, Sendable {
    /// Stream records from `from`, of the primary's `epoch`.
    case stream(epoch: Epoch, from: LSN, clusterID: String?)
    /// The WAL this standby needs is gone: a snapshot of `bytes` at `lsn` follows.
    case snapshot(epoch: Epoch, lsn: LSN, bytes: Int64, snapshotEpoch: Epoch, history: EpochHistory, clusterID: String?)
    /// The standby's log diverged: the primary's history lets it find the fork point.
    case diverged(history: EpochHistory, clusterID: String?, reason: String)
    /// Anything else: the reply's text, as it came.
    case refused(String)

    /// The reply line without its type byte, and whether it is an error.
    public var line: (text: String, isError: Bool) {
        switch self {
        case .stream(let epoch, let from, let clusterID):
            return ("STREAM \(epoch) \(from) \(clusterID ?? "-")", false)
        case .snapshot(let epoch, let lsn, let bytes, let snapshotEpoch, let history, let clusterID):
            return ("SNAPSHOT \(epoch) \(lsn) \(bytes) \(snapshotEpoch) \(history) \(clusterID ?? "-")", false)
        case .diverged(let history, let clusterID, let reason):
            return ("DIVERGED \(history) cluster=\(clusterID ?? "-") \(reason)", true)
        case .refused(let text):
            return (text, true)
        }
    }

    /// Parses a reply line (a simple string or an error, without its type byte).
    /// - Throws: `ReplicationError.malformedHandshake` for a STREAM, SNAPSHOT or DIVERGED
    ///   line that does not parse; any other error line is `.refused`.
    public init(line: String, isError: Bool) throws {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        switch (words.first, isError) {
        case ("STREAM", false):
            guard words.count == 3 || words.count == 4, let epoch = DecimalText.parse(Array(words[1].utf8)),
                  let from = DecimalText.parse(Array(words[2].utf8)) else { throw Self.malformed(line) }
            self = .stream(epoch: Epoch(epoch), from: LSN(from), clusterID: try Self.identity(words.count == 4 ? words[3] : nil))
        case ("SNAPSHOT", false):
            guard words.count == 6 || words.count == 7, let epoch = DecimalText.parse(Array(words[1].utf8)),
                  let lsn = DecimalText.parse(Array(words[2].utf8)), let bytes = DecimalText.parse(Array(words[3].utf8)),
                  bytes <= UInt64(Int64.max), let snapshotEpoch = DecimalText.parse(Array(words[4].utf8)) else {
                throw Self.malformed(line)
            }
            self = .snapshot(epoch: Epoch(epoch), lsn: LSN(lsn), bytes: Int64(bytes), snapshotEpoch: Epoch(snapshotEpoch),
                             history: try Self.history(words[5]), clusterID: try Self.identity(words.count == 7 ? words[6] : nil))
        case ("DIVERGED", true):
            guard words.count >= 3, words[2].hasPrefix("cluster=") else { throw Self.malformed(line) }
            self = .diverged(history: try Self.history(words[1]), clusterID: try Self.identity(words[2].dropFirst("cluster=".count)),
                             reason: words.dropFirst(3).joined(separator: " "))
        case (_, true):
            self = .refused(line)
        default:
            throw Self.malformed(line)
        }
    }

    private static func identity(_ word: Substring?) throws -> String? {
        guard let word, word != "-" else { return nil }
        guard ClusterIdentity.isValid(String(word)) else { throw malformed("cluster identity '\(word.prefix(40))'") }
        return String(word)
    }

    private static func history(_ word: Substring) throws -> EpochHistory {
        do {
            return try EpochHistory(text: String(word))
        } catch let error as ReplicationError {
            throw malformed("history: \(error.message)")
        }
    }

    private static func malformed(_ line: String) -> ReplicationError {
        ReplicationError(.malformedHandshake, "unexpected answer to REPLICATE: '\(line.prefix(200))'")
    }
}
