/// A reply to a client, independent of its encoding on the wire (RESP2 today).
public enum Reply: Equatable, Sendable {
    /// `+text`: a status such as `OK` or `PONG`. MUST NOT contain CR or LF.
    case simple(String)
    /// `-text`: the whole error line including its code, e.g. `ERR syntax error`.
    case error(String)
    case integer(Int64)
    /// A bulk string; `nil` is the null bulk (`$-1`).
    case bulk([UInt8]?)
    /// An array; `nil` is the null array (`*-1`).
    case array([Reply]?)

    public static let ok = Reply.simple("OK")
    public static let nullBulk = Reply.bulk(nil)

    public static func bulk(_ text: String) -> Reply { .bulk(Array(text.utf8)) }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
