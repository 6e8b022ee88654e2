public import UnderstudyCore

/// What one process says about itself on the admin port, read once per request on the
/// process's own event loop from its one state (the `DataNode`, or the witness's record).
/// The HTTP side only compares these values with the request's bounds: every role, lease
/// and epoch fact here was decided by the core.
public struct AdminSnapshot: Sendable {
    /// Patroni's health states (200 only while `running`): the node's own (`NodeHealth`).
    public typealias Status = NodeHealth.Status

    /// Another process as this one knows it (its peer, or on the witness both nodes).
    public struct Member: Sendable {
        public var name: String
        public var role: String
        public var state: String
        public var lsn: Int64?
        public var lagBytes: Int64?

        public init(name: String, role: String, state: String, lsn: Int64?, lagBytes: Int64?) {
            self.name = name
            self.role = role
            self.state = state
            self.lsn = lsn
            self.lagBytes = lagBytes
        }
    }

    public var name: String
    /// `--cluster-name`: the cluster this process belongs to (Patroni's `scope`).
    public var scope: String = "understudy"
    public var isWitness: Bool
    public var status: Status
    /// primary, standby, standalone, undecided or witness.
    public var role: String
    public var epoch: Int64
    public var uptimeSeconds: Int64
    public var lsn: Int64?
    /// The standby's lag in bytes (nil where unknown: a standby does not know the size of
    /// records it has not received), in records, and in milliseconds.
    public var lagBytes: Int64?
    public var lagRecords: Int64?
    public var lagMilliseconds: Int64?
    public var syncState: String?
    public var leaseRemainingMilliseconds: Int64?
    /// The core would take a write now (a primary or standalone node holding its lease).
    public var acceptsWrites: Bool
    /// A standby whose link to its primary is streaming.
    public var isStreamingStandby: Bool
    /// `--max-lag-on-failover`: `/readiness`'s default bound.
    public var maxLagOnFailoverBytes: Int64
    public var members: [Member]
    /// The epoch history: (epoch, first LSN) with the reason and time of the event that
    /// began it, where this process saw it.
    public var history: [(epoch: Int64, firstLSN: Int64?, event: RecordedEvent?)]
    public var events: [RecordedEvent]
    /// Anything else worth showing in `/health` (witness link, last refusal, …).
    public var extra: [(String, JSONText)]

    public init(name: String, isWitness: Bool, status: Status, role: String, epoch: Int64, uptimeSeconds: Int64) {
        self.name = name
        self.isWitness = isWitness
        self.status = status
        self.role = role
        self.epoch = epoch
        self.uptimeSeconds = uptimeSeconds
        acceptsWrites = false
        isStreamingStandby = false
        maxLagOnFailoverBytes = 0
        members = []
        history = []
        events = []
        extra = []
    }

    /// The event that began each epoch of `entries`, among `events` (nil when the epoch
    /// began before this process started, or its event was dropped from the history).
    public static func history(_ entries: [EpochHistory.Entry], events: [RecordedEvent]) -> [(epoch: Int64, firstLSN: Int64?, event: RecordedEvent?)] {
        let beginning: Set<NodeEvent.Kind> = [.becamePrimary, .becameStandby, .epochGranted]
        return entries.map { entry in
            let event = events.first { beginning.contains($0.event.kind) && $0.event.epoch == entry.epoch }
            return (Int64(entry.epoch.rawValue), Int64(entry.firstLSN.rawValue), event)
        }
    }

    /// `/health`'s body.
    var healthJSON: JSONText {
        .object([
            ("status", .string(status.rawValue)),
            ("name", .string(name)),
            ("scope", .string(scope)),
            ("role", .string(role)),
            ("epoch", .int(epoch)),
            ("uptime_seconds", .int(uptimeSeconds)),
            ("lsn", .optional(lsn)),
            ("lag", .optional(lagBytes)),
            ("lag_bytes", .optional(lagBytes)),
            ("lag_records", .optional(lagRecords)),
            ("lag_ms", .optional(lagMilliseconds)),
            ("sync_state", .optional(syncState)),
            ("lease_remaining_ms", .optional(leaseRemainingMilliseconds)),
            ("accepts_writes", .bool(acceptsWrites)),
        ] + extra)
    }

    var clusterJSON: JSONText {
        let selfMember = Member(name: name, role: role, state: status.rawValue, lsn: lsn, lagBytes: lagBytes)
        let list = (isWitness ? [] : [selfMember]) + members
        return .object([
            ("members", .array(list.map { member in
                .object([
                    ("name", .string(member.name)), ("role", .string(member.role)), ("state", .string(member.state)),
                    ("lsn", .optional(member.lsn)), ("lag", .optional(member.lagBytes)),
                ])
            })),
            ("scope", .string(scope)),
            ("epoch", .int(epoch)),
            ("reported_by", .string(name)),
        ])
    }

    var historyJSON: JSONText {
        .array(history.map { entry in
            .object([
                ("epoch", .int(entry.epoch)), ("first_lsn", .optional(entry.firstLSN)),
                ("reason", .optional(entry.event?.event.reason)),
                ("time_unix_ms", .optional(entry.event?.unixMilliseconds)),
            ])
        })
    }

    var eventsJSON: JSONText { .array(events.map(\.json)) }
}
