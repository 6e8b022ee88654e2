/// Something an operator must be able to find afterwards: a role change, an epoch change,
/// fencing, sync-mode degradation, a switchover, a forced promotion, lost writes, a drain.
///
/// The node emits these as `NodeAction.event` at the moment it decides them, with the
/// reason it knows then, so both interpreters see the same story: the server logs each as
/// one structured line and keeps them for `GET /events` and `EVENTS`; the simulator prints
/// them. Time is the shell's to add (the core has no clock).
public struct NodeEvent: Hashable, Sendable {
    /// What happened. The raw value is the stable name operators filter on.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case becamePrimary = "became_primary"
        case becameStandby = "became_standby"
        case steppedDown = "stepped_down"
        case fenced
        case syncDegraded = "sync_degraded"
        case syncRestored = "sync_restored"
        case lostWrites = "lost_writes"
        case switchoverStarted = "switchover_started"
        case switchoverEnded = "switchover_ended"
        case handoverOffered = "handover_offered"
        case forcedPromotionStarted = "forced_promotion_started"
        case forcedPromotionEnded = "forced_promotion_ended"
        case logFailed = "log_failed"
        case diskFull = "disk_full"
        case diskSpaceReturned = "disk_space_returned"
        case drainStarted = "drain_started"
        // The witness's record.
        case epochGranted = "epoch_granted"
        case primaryChanged = "primary_changed"
        case standbySyncChanged = "standby_sync_changed"
        case nodeDown = "node_down"
        case nodeUp = "node_up"
    }

    public var kind: Kind
    /// The epoch the event belongs to (nil when it has none).
    public var epoch: Epoch?
    /// Why, in words an operator reads at 3 a.m.
    public var reason: String
    /// Facts worth filtering on (`primary`, `last_lsn`, `outcome`, …).
    public var details: [String: String]

    public init(_ kind: Kind, epoch: Epoch?, reason: String, _ details: [String: String] = [:]) {
        self.kind = kind
        self.epoch = epoch
        self.reason = reason
        self.details = details
    }

    /// The end of a switchover or forced promotion, with its outcome.
    static func ended(_ kind: Kind, _ outcome: OperatorOutcome, epoch: Epoch) -> NodeEvent {
        switch outcome {
        case .done(let primary):
            return NodeEvent(kind, epoch: epoch, reason: "done: \(primary) is the primary", ["outcome": "done", "primary": primary])
        case .failed(let message):
            return NodeEvent(kind, epoch: epoch, reason: message, ["outcome": "failed"])
        }
    }

    /// The witness's events between two of its records: an epoch granted, a new primary,
    /// the standby's sync state recorded. Empty when nothing an operator cares about changed.
    public static func witnessChanges(from before: WitnessRecord?, to after: WitnessRecord) -> [NodeEvent] {
        var events: [NodeEvent] = []
        if before?.epoch != after.epoch {
            events.append(NodeEvent(.epochGranted, epoch: after.epoch,
                                    reason: "the witness recorded epoch \(after.epoch) with primary \(after.primary ?? "none")",
                                    ["primary": after.primary ?? "", "previous_epoch": before.map { "\($0.epoch)" } ?? ""]))
        }
        if before?.primary != after.primary {
            events.append(NodeEvent(.primaryChanged, epoch: after.epoch,
                                    reason: "primary \(before?.primary ?? "none") → \(after.primary ?? "none")",
                                    ["primary": after.primary ?? "", "previous_primary": before?.primary ?? ""]))
        }
        if let before, before.standbyInSync != after.standbyInSync {
            events.append(NodeEvent(.standbySyncChanged, epoch: after.epoch,
                                    reason: after.standbyInSync ? "the standby is recorded in sync again" : "the standby is recorded not in sync: the primary acknowledges alone",
                                    ["standby": after.standby ?? "", "in_sync": after.standbyInSync ? "1" : "0"]))
        }
        return events
    }

    /// The witness's `node_down` / `node_up`: the same health Sentinel clients are told
    /// (`+sdown` / `-sdown` from `SentinelEvent.changes`), so an operator's events and a
    /// Sentinel client never disagree on whether a node was down.
    public static func witnessHealth(_ changes: [SentinelEvent], epoch: Epoch?, downAfterMilliseconds: Int64) -> [NodeEvent] {
        changes.compactMap { change in
            let (subject, down): (SentinelEvent.Subject, Bool)
            switch change {
            case .subjectivelyDown(let instance): (subject, down) = (instance, true)
            case .subjectivelyUp(let instance): (subject, down) = (instance, false)
            default: return nil
            }
            let (node, role): (String, String)
            switch subject {
            case .master(let endpoint): (node, role) = (endpoint.description, "primary")
            case .replica(let address, _, _): (node, role) = (address, "standby")
            }
            return down
                ? NodeEvent(.nodeDown, epoch: epoch, reason: "the witness has not heard from the \(role) \(node) for over \(downAfterMilliseconds) ms",
                            ["node": node, "role": role])
                : NodeEvent(.nodeUp, epoch: epoch, reason: "the witness hears from the \(role) \(node) again", ["node": node, "role": role])
        }
    }
}
