/// The identity of one cluster: made once, by the witness that bootstraps it, from
/// randomness the shell supplies; persisted by the witness (in its record) and by every
/// data node (in its data directory), and carried by every replication handshake and
/// `FENCE`. A node refuses a record, a stream or a fence of another cluster.
///
/// It is an identity, not a secret: it stops accidents — a node of another cluster, a
/// reused data directory, a stray client — not an attacker who can read the record.
/// Peer authentication with a cluster secret is separate work.
public enum ClusterIdentity {
    /// 32 lowercase hexadecimal digits (128 bits).
    public static let length = 32

    public static func isValid(_ text: String) -> Bool {
        text.utf8.count == length && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// An identity from two random 64-bit words (the caller's generator).
    public static func make(_ high: UInt64, _ low: UInt64) -> String {
        hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
