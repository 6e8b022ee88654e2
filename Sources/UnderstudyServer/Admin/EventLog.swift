public import Logging
public import UnderstudyCore

/// One event as the process kept it: the node's (or witness's) `NodeEvent` with the wall
/// time it was recorded and its sequence number since the process started.
public struct RecordedEvent: Hashable, Sendable {
    public var sequence: Int
    public var unixMilliseconds: Int64
    public var event: NodeEvent

    /// The JSON object `GET /events`, `EVENTS` and `--log-format json` show.
    public var json: JSONText {
        .object([
            ("sequence", .int(Int64(sequence))),
            ("time_unix_ms", .int(unixMilliseconds)),
            ("kind", .string(event.kind.rawValue)),
            ("epoch", .optional(event.epoch.map { Int64($0.rawValue) })),
            ("reason", .string(event.reason)),
            ("details", .object(event.details.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ])
    }
}

/// The process's recent events: each is logged as one structured line when recorded and
/// kept in a bounded history (`capacity`, the one place the limit is named).
public struct EventLog: Sendable {
    /// How many events a process keeps in memory.
    public static let capacity = 256

    public private(set) var history = BoundedHistory<RecordedEvent>(capacity: EventLog.capacity)

    public init() {}

    /// Logs `event` (level notice; warning for losses and fencing) and keeps it.
    public mutating func record(_ event: NodeEvent, unixMilliseconds: Int64, logger: Logger) {
        let recorded = RecordedEvent(sequence: history.appendedCount + 1, unixMilliseconds: unixMilliseconds, event: event)
        history.append(recorded)
        var metadata: Logger.Metadata = [
            "event": "\(event.kind.rawValue)", "reason": "\(event.reason)",
            "epoch": "\(event.epoch.map { "\($0)" } ?? "")",
        ]
        for (key, value) in event.details { metadata[key] = "\(value)" }
        let loud: Set<NodeEvent.Kind> = [.fenced, .steppedDown, .lostWrites, .logFailed, .diskFull, .syncDegraded, .forcedPromotionStarted]
        logger.log(level: loud.contains(event.kind) ? .warning : .notice, "event: \(event.kind.rawValue)", metadata: metadata)
    }

    /// The newest `count` events, oldest first.
    public func newest(_ count: Int) -> [RecordedEvent] { history.newest(count) }

    /// Every kept event, oldest first.
    public var all: [RecordedEvent] { history.elements }
}
