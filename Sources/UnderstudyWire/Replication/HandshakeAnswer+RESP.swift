public import UnderstudyCore

/// The primary's answer to `REPLICATE` read back from its RESP reply line (`line` writes it).
extension HandshakeAnswer {
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
