/// What a node says of itself to load balancers and probes (`/health`, `/primary`,
/// `/replica`, …), read from its one state: the admin port compares these values with a
/// request's bounds and decides nothing about roles, leases or fencing itself.
public struct NodeHealth: Hashable, Sendable {
    /// Patroni's health states: probes get 200 only while `running`.
    public enum Status: String, Hashable, Sendable {
        /// No role yet (a node the witness has not placed).
        case starting
        case running
        /// `understudy drain` or SIGTERM: on its way out.
        case draining
        /// A primary that saw a higher epoch, or a node whose log failed: it takes no writes.
        case fenced
    }

    public var status: Status
    /// `primary`, `standby`, `standalone` or `undecided`.
    public var role: String
    /// The node would take a write now (a primary or standalone node holding its lease).
    public var acceptsWrites: Bool
    /// A standby whose link to its primary is streaming.
    public var isStreamingStandby: Bool
    /// A coordinated primary's lease, from now (nil: not a primary of a witnessed pair).
    public var leaseRemainingMilliseconds: Int64?
    /// Primary: `sync`, `alone` (acknowledging without its standby) or `async`; standby:
    /// `streaming` or its link state; nil for a standalone node.
    public var syncState: String?
}

extension DataNode {
    /// The node's health at `now`; `draining`: the shell was asked to drain (SIGTERM, DRAIN).
    public func health(draining: Bool, nowMilliseconds now: Int64) -> NodeHealth {
        let status: NodeHealth.Status
        if draining || isStopping {
            status = .draining
        } else if logFailure != nil || primary?.supersededBy != nil {
            status = .fenced
        } else if case .undecided = role {
            status = .starting
        } else {
            status = .running
        }
        let roleName: String
        switch role {
        case .standalone: roleName = "standalone"
        case .undecided: roleName = "undecided"
        case .primary: roleName = "primary"
        case .standby: roleName = "standby"
        }
        var syncState: String?
        if let primary {
            syncState = primary.replication.mode == .async ? "async" : (primary.replication.acknowledgesAlone ? "alone" : "sync")
        } else if standby != nil {
            syncState = linkStatus == "connected" ? "streaming" : linkStatus
        }
        var leaseRemaining: Int64?
        if let coordinator, coordinator.role == .primary, let lease = coordinator.leaseExpiresAtMilliseconds {
            leaseRemaining = max(0, lease - now)
        }
        return NodeHealth(
            status: status, role: roleName,
            acceptsWrites: pairRole != .standby && refusal(isWrite: true, nowMilliseconds: now) == nil,
            isStreamingStandby: standby != nil && linkStatus == "connected",
            leaseRemainingMilliseconds: leaseRemaining, syncState: syncState)
    }
}
