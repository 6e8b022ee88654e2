/// Per-call choices.
public struct CallOptions: Sendable {
    /// Where a read may be served. Writes always go to the primary.
    public struct ReadRouting: Hashable, Sendable {
        /// nil: the primary only.
        private let maxLagMilliseconds: Int64?
        /// Reads see every acknowledged write (the default).
        public static let primary = ReadRouting(maxLagMilliseconds: nil)
        /// The read may be served by the standby (possibly stale) while the standby reported
        /// at most 1 s of lag (`understudy_lag_milliseconds`) at a probe less than a second
        /// old; otherwise, and on retries, the primary.
        public static let standbyAllowed = standbyAllowed(maxLagMilliseconds: 1_000)
        /// As `standbyAllowed`, with another bound on the standby's reported lag.
        public static func standbyAllowed(maxLagMilliseconds: Int64) -> ReadRouting {
            ReadRouting(maxLagMilliseconds: max(0, maxLagMilliseconds))
        }

        var route: Topology.Route { maxLagMilliseconds.map { .standbyAllowed(maxLagMilliseconds: $0) } ?? .primary }
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
