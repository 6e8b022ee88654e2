/// A peer broke the RESP protocol or one of the `RESPLimits`.
///
/// After this error the byte stream cannot be resynchronised: the server MUST send `message`
/// as an error reply (`-` + message + CRLF) and then close the connection, as Redis does.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for code that reacts to the kind of error (metrics, tests).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) { self.name = name }

        public var description: String { name }

        /// `*N` with N not a number, or negative other than `*-1`.
        public static let invalidMultibulkLength = Code("invalidMultibulkLength")
        /// `$N` with N not a number or negative.
        public static let invalidBulkLength = Code("invalidBulkLength")
        /// A `$` was expected but another byte arrived.
        public static let unexpectedByte = Code("unexpectedByte")
        /// Bulk data not followed by CRLF.
        public static let missingLineTerminator = Code("missingLineTerminator")
        /// An inline command (or reply line) longer than `maxInlineBytes`.
        public static let inlineTooLong = Code("inlineTooLong")
        /// A `*N` or `$N` line longer than `maxInlineBytes`.
        public static let lengthLineTooLong = Code("lengthLineTooLong")
        /// A quote without its partner, or a closing quote followed by a non-space.
        public static let unbalancedQuotes = Code("unbalancedQuotes")
        /// A declared bulk larger than `maxBulkBytes`.
        public static let bulkTooLarge = Code("bulkTooLarge")
        /// More arguments (or array elements) than `maxArguments`.
        public static let tooManyArguments = Code("tooManyArguments")
        /// A request whose declared size exceeds `maxRequestBytes`.
        public static let requestTooLarge = Code("requestTooLarge")
        /// A reply nested deeper than `maxReplyNestingDepth`.
        public static let nestingTooDeep = Code("nestingTooDeep")
        /// A reply line with an unknown type byte, or a malformed integer reply.
        public static let invalidReply = Code("invalidReply")
        /// A replication frame is malformed, of an unknown type, or over its size limit.
        public static let invalidReplicationFrame = Code("invalidReplicationFrame")
    }

    public var code: Code
    /// The Redis-style error line, without the leading `-` and the CRLF, e.g.
    /// `ERR Protocol error: invalid bulk length`.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension RESPProtocolError {
    static let invalidMultibulkLength = Self(
        code: .invalidMultibulkLength, message: "ERR Protocol error: invalid multibulk length")
    static let invalidBulkLength = Self(
        code: .invalidBulkLength, message: "ERR Protocol error: invalid bulk length")
    static let inlineTooLong = Self(
        code: .inlineTooLong, message: "ERR Protocol error: too big inline request")
    static let multibulkLengthLineTooLong = Self(
        code: .lengthLineTooLong, message: "ERR Protocol error: too big mbulk count string")
    static let bulkLengthLineTooLong = Self(
        code: .lengthLineTooLong, message: "ERR Protocol error: too big bulk count string")
    static let unbalancedQuotes = Self(
        code: .unbalancedQuotes, message: "ERR Protocol error: unbalanced quotes in request")
    static let missingLineTerminator = Self(
        code: .missingLineTerminator, message: "ERR Protocol error: expected CRLF after bulk data")

    static func unexpectedByte(_ byte: UInt8, expected: Character) -> Self {
        Self(
            code: .unexpectedByte,
            message: "ERR Protocol error: expected '\(expected)', got '\(printable(byte))'"
        )
    }

    static func bulkTooLarge(_ length: Int, limit: Int) -> Self {
        Self(
            code: .bulkTooLarge,
            message: "ERR Protocol error: bulk length \(length) exceeds the limit of \(limit) bytes (--max-bulk-bytes)"
        )
    }

    static func tooManyArguments(_ count: Int, limit: Int) -> Self {
        Self(
            code: .tooManyArguments,
            message: "ERR Protocol error: \(count) arguments exceed the limit of \(limit) arguments (--max-arguments)"
        )
    }

    static func requestTooLarge(_ size: Int, limit: Int) -> Self {
        Self(
            code: .requestTooLarge,
            message: "ERR Protocol error: request size \(size) exceeds the limit of \(limit) bytes (--max-request-bytes)"
        )
    }

    static func nestingTooDeep(limit: Int) -> Self {
        Self(
            code: .nestingTooDeep,
            message: "ERR Protocol error: reply nested deeper than the limit of \(limit) arrays"
        )
    }

    static func invalidReply(_ what: String) -> Self {
        Self(code: .invalidReply, message: "ERR Protocol error: \(what)")
    }

    /// Printable ASCII as itself, anything else as `\xHH`, so that the message stays one
    /// line of text whatever the peer sent.
    static func printable(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return String(UnicodeScalar(byte)) }
        let hexDigits = Array("0123456789abcdef")
        return "\\x" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
    }
}
