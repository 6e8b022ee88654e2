/// A reply to a client, independent of its encoding on the wire.
///
/// The first five cases are RESP2's. The others are RESP3's (`HELLO 3`); a connection that
/// speaks RESP2 gets each of them in the shape Redis 7 gives a RESP2 client (noted per case),
/// so a command builds one reply and the encoder picks the shape. A null bulk and a null
/// array are both `_` in RESP3.
public enum Reply: Equatable, Sendable {
    /// `+text`: a status such as `OK` or `PONG`. MUST NOT contain CR or LF.
    case simple(String)
    /// `-text`: the whole error line including its code, e.g. `ERR syntax error`.
    case error(String)
    case integer(Int64)
    /// A bulk string; `nil` is the null bulk (`$-1`; RESP3 `_`).
    case bulk([UInt8]?)
    /// An array; `nil` is the null array (`*-1`; RESP3 `_`).
    case array([Reply]?)
    /// A bulk string whose bytes the keyspace holds (GET's reply): encoded exactly as
    /// `.bulk(value.bytes)` and equal to it, without copying the value into an array first.
    case storedBulk(StoredValue)

    // MARK: RESP3

    /// `_`: null. RESP2: the null bulk `$-1`.
    case null
    /// `,`: a double (`inf`, `-inf` and `nan` included). RESP2: a bulk string of its text.
    case double(Double)
    /// `#t` / `#f`. RESP2: the integer 1 or 0.
    case boolean(Bool)
    /// `(`: an integer of any size, as decimal digits with an optional `-`. RESP2: a bulk string.
    case bigNumber(String)
    /// `=`: text with a format (`txt`, `mkd`) a client may show as it is. RESP2: a bulk string.
    case verbatim(VerbatimFormat, [UInt8])
    /// `%`: key–value pairs in order. RESP2: an array of key, value, key, value, …
    case map([MapEntry])
    /// `~`: an unordered collection. RESP2: an array.
    case set([Reply])
    /// `>`: an out-of-band message (pub/sub, tracking). RESP2: an array.
    case push([Reply])

    /// One key–value pair of a `.map`.
    public struct MapEntry: Equatable, Sendable {
        public var key: Reply
        public var value: Reply

        public init(_ key: Reply, _ value: Reply) {
            self.key = key
            self.value = value
        }
    }

    /// The three-byte format of a verbatim string.
    public enum VerbatimFormat: Equatable, Sendable {
        /// `txt`: plain text (INFO, CLIENT LIST).
        case text
        /// `mkd`: Markdown.
        case markdown

        public var name: String {
            switch self {
            case .text: return "txt"
            case .markdown: return "mkd"
            }
        }
    }

    public static let ok = Reply.simple("OK")
    public static let nullBulk = Reply.bulk(nil)

    public static func bulk(_ text: String) -> Reply { .bulk(Array(text.utf8)) }

    /// A map whose keys are bulk strings, in the order written: `.map(["proto": .integer(3)])`.
    public static func map(_ fields: KeyValuePairs<String, Reply>) -> Reply {
        .map(fields.map { MapEntry(.bulk($0.key), $0.value) })
    }

    /// A map whose keys are bulk strings, built at run time.
    public static func map(fields: [(String, Reply)]) -> Reply {
        .map(fields.map { MapEntry(.bulk($0.0), $0.1) })
    }

    /// A verbatim string of plain text (INFO, CLIENT INFO, CLIENT LIST).
    public static func verbatimText(_ text: String) -> Reply { .verbatim(.text, Array(text.utf8)) }

    /// Structural equality, except that `.storedBulk(v)` equals `.bulk(v.bytes)`: where a
    /// reply's bytes live is not part of what it says.
    public static func == (left: Reply, right: Reply) -> Bool {
        switch (left, right) {
        case (.storedBulk(let left), .storedBulk(let right)): return left == right
        case (.storedBulk(let stored), .bulk(let bytes?)), (.bulk(let bytes?), .storedBulk(let stored)): return stored == bytes
        case (.simple(let left), .simple(let right)): return left == right
        case (.error(let left), .error(let right)): return left == right
        case (.integer(let left), .integer(let right)): return left == right
        case (.bulk(let left), .bulk(let right)): return left == right
        case (.array(let left), .array(let right)): return left == right
        case (.null, .null): return true
        case (.double(let left), .double(let right)): return left == right
        case (.boolean(let left), .boolean(let right)): return left == right
        case (.bigNumber(let left), .bigNumber(let right)): return left == right
        case (.verbatim(let leftFormat, let left), .verbatim(let rightFormat, let right)):
            return leftFormat == rightFormat && left == right
        case (.map(let left), .map(let right)): return left == right
        case (.set(let left), .set(let right)): return left == right
        case (.push(let left), .push(let right)): return left == right
        default:
            // Different cases (listing every pair is too much for the exhaustiveness checker).
            // A new case MUST get its own line above.
            return false
        }
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// The reply as a RESP2 connection receives it: RESP3 types become the RESP2 types Redis 7
    /// sends instead (see each case), recursively. RESP2 replies are returned unchanged.
    public var resp2Shape: Reply {
        switch self {
        case .simple, .error, .integer, .bulk, .storedBulk:
            return self
        case .array(let elements?):
            return .array(elements.map(\.resp2Shape))
        case .array(nil):
            return self
        case .null:
            return .bulk(nil)
        case .double(let value):
            return .bulk(Reply.doubleText(value))
        case .boolean(let value):
            return .integer(value ? 1 : 0)
        case .bigNumber(let digits):
            return .bulk(digits)
        case .verbatim(_, let bytes):
            return .bulk(bytes)
        case .map(let entries):
            return .array(entries.flatMap { [$0.key.resp2Shape, $0.value.resp2Shape] })
        case .set(let elements), .push(let elements):
            return .array(elements.map(\.resp2Shape))
        }
    }

    /// A double as Redis writes it: `inf`, `-inf`, `nan`, otherwise the shortest decimal
    /// text that reads back as the same double, without a trailing `.0` (`3`, `1.5`, `1e+20`).
    public static func doubleText(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let text = "\(value)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

/// The RESP version a connection speaks: 2 until it sends `HELLO 3`.
public enum ProtocolVersion: Int, Equatable, Sendable {
    case resp2 = 2
    case resp3 = 3
}
