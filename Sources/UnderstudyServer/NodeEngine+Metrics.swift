import UnderstudyCore
import UnderstudyStorage

/// Where the node's facts become metrics: the gauges read what INFO replication reports,
/// and the role changes the node announces are counted. Nothing here decides anything.
extension NodeEngine {
    /// The `reason` label a refusal counts under.
    static func refusalReason(of refusal: CommandRefusal) -> RefusalReason {
        switch refusal {
        case .logFailed, .logFailedRead: return .logFailed
        case .diskFull: return .diskFull
        case .roleUndecided: return .roleUndecided
        case .leaseExpired: return .lease
        case .standby: return .readonly
        case .superseded: return .fenced
        case .limit(let message):
            // The primary's admission names its refusal by the RESP error code it sends.
            if message.hasPrefix("NOREPLICAS") { return .noreplicas }
            if message.hasPrefix("READONLY") { return .fenced }
            return .limits
        }
    }

    /// Sets every node gauge; called at each replication tick, once a second on a
    /// standalone node, and before `METRICS` renders.
    func updateMetricGauges() {
        metrics.node.update(gaugeValues(nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// The same readings as `INFO replication` (NodeEngine+Info.swift), in base units.
    func gaugeValues(nowMilliseconds now: Int64) -> NodeGauges.Values {
        var values = NodeGauges.Values(
            role: metricsRole, epoch: epoch.rawValue, lastLSN: lastAppendedLSN.rawValue, durableLSN: durableLSN.rawValue,
            standbyAcknowledgedLSN: nil, walPositionBytes: wal.totalBytesWritten, lagBytes: 0, lagMilliseconds: 0,
            standbyInSync: nil, leaseRemainingMilliseconds: nil, idempotencyEntries: keyspace.idempotency.count)
        if node.pairRole == .standby, let standby = node.standby?.replication {
            let lag = standby.lag(nowMilliseconds: now)
            values.durableLSN = standby.durableLSN.rawValue
            values.lagMilliseconds = lag.milliseconds
        } else if let primary = node.primary?.replication {
            let lag = primary.lag(nowMilliseconds: now)
            values.standbyAcknowledgedLSN = primary.standbyDurableLSN?.rawValue
            values.lagBytes = lag.bytes
            values.lagMilliseconds = lag.milliseconds
        }
        if let coordinator = node.coordinator, coordinator.role == .primary {
            values.leaseRemainingMilliseconds = coordinator.leaseExpiresAtMilliseconds.map { max(0, $0 - now) } ?? 0
            if coordinator.settings.mode == .sync { values.standbyInSync = coordinator.standbyInSync }
        }
        return values
    }

    /// The `role` label: the coordinator's role with a witness, the pair role without.
    private var metricsRole: String {
        if let coordinator = node.coordinator { return coordinator.role.rawValue }
        if replication.configuration?.witness != nil { return "undecided" }
        return node.pairRole?.rawValue ?? "standalone"
    }

    /// `.becamePrimary` from standby: a failover (by vote or forced) or the end of a
    /// switchover this node was offered; the vote phase is timed when there was a vote.
    func recordPromotion(epoch newEpoch: Epoch, votedSinceMilliseconds: Int64?, nowMilliseconds now: Int64) {
        let reason: FailoverMetrics.Reason?
        if replication.forceCompletion != nil {
            reason = .forced
        } else if replication.handoverOfferedEpoch == newEpoch {
            reason = nil
        } else {
            reason = .primaryLost
        }
        metrics.failovers.promoted(reason: reason, unixMilliseconds: WallClock.nowMilliseconds())
        if let votedSinceMilliseconds {
            metrics.failovers.phaseEnded(.vote, durationMilliseconds: now - votedSinceMilliseconds)
        }
    }
}
