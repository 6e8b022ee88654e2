/// Per-call choices.
public struct CallOptions: Sendable {
    /// Where a read may be served. Writes always go to the primary.
    public struct ReadRouting: Hashable, Sendable {
        private let allowsStandby: Bool
        /// Reads see every acknowledged write (the default).
        public static let primary = ReadRouting(allowsStandby: false)
        /// The read may be served by the standby (possibly stale); it falls back to the
        /// primary on retries.
        public static let standbyAllowed = ReadRouting(allowsStandby: true)

        var route: Topology.Route { allowsStandby ? .standbyAllowed : .primary }
    }

    public var readRouting: ReadRouting
    /// An idempotency key for a write: the write is sent as `IDEMPOTENT <key> …`, so it runs
    /// at most once however often it is sent. Nil: the client makes one when the command
    /// needs it and `Configuration.idempotentWrites` is on.
    public var idempotencyKey: String?
    /// This call's deadline, instead of `Configuration.deadlineMilliseconds`.
    public var deadlineMilliseconds: Int64?

    public init(readRouting: ReadRouting = .primary, idempotencyKey: String? = nil, deadlineMilliseconds: Int64? = nil) {
        self.readRouting = readRouting
        self.idempotencyKey = idempotencyKey
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}
