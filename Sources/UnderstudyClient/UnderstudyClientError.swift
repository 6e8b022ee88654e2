/// Every failure a call of `UnderstudyClient` reports.
///
/// What a caller MUST know first is whether a write may have been applied: only
/// `Code.indeterminate` says "maybe". Every other code means the command was not applied,
/// or (`serverError`, `idempotencyKeyConflict`) that the server ran it and answered an error,
/// which in Redis semantics changes nothing.
public struct UnderstudyClientError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. A struct, not an enum, so that codes can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case indeterminate, serverError, idempotencyKeyConflict, deadlineExceeded
            case retriesExhausted, retryBudgetExhausted, circuitOpen, bulkheadFull, invalidArgument
            case unexpectedReply, shutDown, cancelled, unreachable, authenticationFailed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public var description: String { value.rawValue }

        /// The write may or may not have been applied (an `-UNCERTAIN`/`-NOREPLICAS` reply, or
        /// the connection dropped or timed out after the request was written), and it carried
        /// no idempotency key, so it was not re-sent. The application decides.
        public static let indeterminate = Code(.indeterminate)
        /// The server ran the command and answered an error (`-ERR …`, `-WRONGTYPE …`).
        public static let serverError = Code(.serverError)
        /// `-ERR IDEMPOTENT …`: the idempotency key was already used for another command.
        public static let idempotencyKeyConflict = Code(.idempotencyKeyConflict)
        /// The call's deadline passed before an answer; nothing that was sent may have run.
        public static let deadlineExceeded = Code(.deadlineExceeded)
        /// `Configuration.maxAttempts` attempts were made; none ran the command.
        public static let retriesExhausted = Code(.retriesExhausted)
        /// A retry was needed but the client-wide retry budget was spent. Not executed.
        public static let retryBudgetExhausted = Code(.retryBudgetExhausted)
        /// The node's circuit breaker is open: the request was not sent.
        public static let circuitOpen = Code(.circuitOpen)
        /// The node already has `maxInFlightRequestsPerNode` requests in flight: not sent.
        public static let bulkheadFull = Code(.bulkheadFull)
        /// The call's arguments cannot be sent (a read with an idempotency key, an empty command).
        public static let invalidArgument = Code(.invalidArgument)
        /// The reply has a shape the typed command does not expect.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The calling task was cancelled between attempts. Not executed (unless an earlier
        /// attempt's outcome was unknown: then `indeterminate`).
        public static let cancelled = Code(.cancelled)
        /// `shutdown()` was called.
        public static let shutDown = Code(.shutDown)
        /// `NodeRequest`: the node could not be reached (nothing was sent).
        public static let unreachable = Code(.unreachable)
        /// The node refused the configured password (`-WRONGPASS`), or requires one and none
        /// is configured (`-NOAUTH`). Nothing was executed.
        public static let authenticationFailed = Code(.authenticationFailed)
    }

    public var code: Code
    /// What happened, where and why, for people.
    public var message: String
    /// The node the last attempt went to, if any.
    public var node: NodeAddress?
    /// The idempotency key the write carried, so an application can re-send it itself.
    public var idempotencyKey: String?

    public init(code: Code, message: String, node: NodeAddress? = nil, idempotencyKey: String? = nil) {
        self.code = code
        self.message = message
        self.node = node
        self.idempotencyKey = idempotencyKey
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let node { text += " (node \(node))" }
        if let idempotencyKey { text += " (idempotency key \(idempotencyKey))" }
        return text
    }
}
