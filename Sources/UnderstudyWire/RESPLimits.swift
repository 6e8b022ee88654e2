/// Every size limit of the RESP wire protocol, in one place.
///
/// The decoders check each *declared* length against these limits before buffering the data
/// it announces, so a peer cannot make us allocate more than the limits allow by merely
/// announcing a large request. A request that breaks a limit is rejected with a
/// `RESPProtocolError` naming the limit; the server then closes the connection.
public struct RESPLimits: Sendable, Equatable {
    /// The largest bulk string (one argument or one bulk reply) accepted, in bytes.
    ///
    /// Default 64 MiB. Redis's `proto-max-bulk-len` defaults to 512 MiB; values that large
    /// are rarely intended, and a smaller default bounds per-connection memory.
    public var maxBulkBytes: Int

    /// The largest number of arguments (command name included) in one request, and of
    /// elements in one array of a reply.
    ///
    /// Default 1,048,576 (2^20).
    public var maxArguments: Int

    /// The largest multibulk request, in bytes, counting all of its framing (`*N\r\n`, each
    /// `$len\r\n` and each trailing `\r\n`), checked against the sizes the client declares.
    /// (An inline request is bounded by `maxInlineBytes`.)
    ///
    /// Default 128 MiB, twice the default `maxBulkBytes`: one maximal value plus its key, the
    /// command name and all framing fit with room to spare. It SHOULD be at least
    /// `maxBulkBytes` plus a few dozen bytes of framing, or a maximal bulk can never be sent.
    public var maxRequestBytes: Int

    /// The longest line: an inline command (`SET a b`), a length line (`*N`, `$N`) or a
    /// status/error/integer reply line, in bytes, without its line terminator.
    ///
    /// Default 64 KiB, as Redis's `PROTO_INLINE_MAX_SIZE`.
    public var maxInlineBytes: Int

    /// The deepest nesting of arrays accepted in a *reply* (requests are flat).
    ///
    /// Default 64. Deeper replies are almost certainly garbage, and a `Reply` nested hundreds
    /// of thousands deep would overflow the stack when it is compared or freed.
    public var maxReplyNestingDepth: Int

    public init(
        maxBulkBytes: Int = RESPLimits.defaultMaxBulkBytes,
        maxArguments: Int = RESPLimits.defaultMaxArguments,
        maxRequestBytes: Int = RESPLimits.defaultMaxRequestBytes,
        maxInlineBytes: Int = RESPLimits.defaultMaxInlineBytes,
        maxReplyNestingDepth: Int = RESPLimits.defaultMaxReplyNestingDepth
    ) {
        // The upper bound keeps sums of lengths, each checked against a limit, from overflowing.
        precondition((0...Self.largestLimit).contains(maxBulkBytes), "maxBulkBytes out of range")
        precondition((1...Self.largestLimit).contains(maxArguments), "maxArguments out of range")
        precondition((1...Self.largestLimit).contains(maxRequestBytes), "maxRequestBytes out of range")
        precondition((1...Self.largestLimit).contains(maxInlineBytes), "maxInlineBytes out of range")
        precondition(maxReplyNestingDepth >= 1, "maxReplyNestingDepth must be positive")
        self.maxBulkBytes = maxBulkBytes
        self.maxArguments = maxArguments
        self.maxRequestBytes = maxRequestBytes
        self.maxInlineBytes = maxInlineBytes
        self.maxReplyNestingDepth = maxReplyNestingDepth
    }

    public static let defaultMaxBulkBytes = 64 * 1024 * 1024
    public static let defaultMaxArguments = 1024 * 1024
    public static let defaultMaxRequestBytes = 128 * 1024 * 1024
    public static let defaultMaxInlineBytes = 64 * 1024
    public static let defaultMaxReplyNestingDepth = 64

    /// The largest value of any limit, 2^48: far beyond any sensible setting.
    public static let largestLimit = 1 << 48

    /// The defaults documented on each property.
    public static let `default` = RESPLimits()
}
