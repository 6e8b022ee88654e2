import Crypto

/// The secret every member of one cluster shares (`--cluster-secret-file`): the key of the
/// HMAC-SHA256 proofs in the peer handshake (docs/security.md, "Peer authentication"). It
/// never crosses the wire and is never logged; only proofs made with it are sent.
public struct ClusterSecret: Sendable {
    /// Shorter secrets are refused: 16 bytes is the floor, 32 random bytes the recommendation.
    public static let minimumBytes = 16
    /// A line longer than this is not a secret someone meant to write.
    public static let maximumBytes = 4_096

    /// Kept as bytes (swift-crypto's `SymmetricKey` is not `Sendable` on Linux); a key is made
    /// for each proof, a handful per connection.
    private let bytes: [UInt8]
    public var byteCount: Int { bytes.count }
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// The secret is the file's first non-empty line, without surrounding spaces or the line
    /// ending, so `openssl rand -hex 32 > secret` and an editor's trailing newline both work.
    /// - Throws: `ClusterSecretError` when the file holds no line, or one shorter than
    ///   `minimumBytes` or longer than `maximumBytes`.
    public init(fileContents: [UInt8]) throws(ClusterSecretError) {
        let lines = fileContents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 13 }
        guard let line = lines.lazy.map({ $0.drop(while: isSpace).reversed().drop(while: isSpace).reversed() })
            .first(where: { !$0.isEmpty }) else {
            throw ClusterSecretError(code: .empty, message: "the cluster secret file holds no secret (its first non-empty line is the secret)")
        }
        guard line.count >= Self.minimumBytes else {
            throw ClusterSecretError(code: .tooShort, message:
                "the cluster secret is \(line.count) bytes; at least \(Self.minimumBytes) are required and 32 random bytes recommended (openssl rand -hex 32)")
        }
        guard line.count <= Self.maximumBytes else {
            throw ClusterSecretError(code: .tooLong, message: "the cluster secret is \(line.count) bytes; at most \(Self.maximumBytes) are accepted")
        }
        bytes = Array(line)
    }
}

/// Why a cluster secret file was refused.
public struct ClusterSecretError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        let name: String
        public static let empty = Code(name: "empty")
        public static let tooShort = Code(name: "tooShort")
        public static let tooLong = Code(name: "tooLong")
    }

    public var code: Code
    public var message: String
    public var description: String { message }
}
