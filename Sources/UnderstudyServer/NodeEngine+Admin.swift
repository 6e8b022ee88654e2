import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage

/// The admin port's view of the node, events, and the drain: every value is read from
/// `DataNode` on the node's event loop; nothing here decides a role, epoch or lease.
extension NodeEngine {
    /// `.event`: log it as one structured line and keep it.
    func record(_ event: NodeEvent) {
        events.record(event, unixMilliseconds: WallClock.nowMilliseconds(), logger: logger)
    }

    /// The snapshot `/health`, `/primary`, `/cluster`, … answer from.
    func adminSnapshot() -> AdminSnapshot {
        eventLoop.assertInEventLoop()
        let now = WallClock.monotonicMilliseconds()
        let health = node.health(draining: drainRequested, nowMilliseconds: now)
        var snapshot = AdminSnapshot(
            name: node.node.isEmpty ? "\(configuration.host):\(listeningPort)" : node.node, isWitness: false,
            status: health.status, role: health.role, epoch: Int64(node.knownEpoch.rawValue),
            uptimeSeconds: (now - startedAtMonotonicMilliseconds) / 1000)
        snapshot.scope = configuration.clusterName
        snapshot.lsn = Int64(wal.lastWrittenLSN.rawValue)
        snapshot.acceptsWrites = health.acceptsWrites
        snapshot.isStreamingStandby = health.isStreamingStandby
        snapshot.maxLagOnFailoverBytes = configuration.replication?.maxLagOnFailoverBytes ?? 0
        snapshot.leaseRemainingMilliseconds = health.leaseRemainingMilliseconds
        snapshot.syncState = health.syncState
        if let primary = node.primary {
            let lag = primary.replication.lag(nowMilliseconds: now)
            snapshot.lagBytes = lag.bytes
            snapshot.lagRecords = Int64(lag.lsns)
            snapshot.lagMilliseconds = lag.milliseconds
            if let standby = primary.standbyLink {
                snapshot.members.append(.init(name: standby.address, role: "standby", state: lag.state.rawValue,
                                              lsn: primary.replication.standbyDurableLSN.map { Int64($0.rawValue) }, lagBytes: lag.bytes))
            } else if let peer = configuration.replication?.peer {
                snapshot.members.append(.init(name: "\(peer)", role: "unknown", state: "detached", lsn: nil, lagBytes: nil))
            }
        } else if let standby = node.standby {
            let lag = standby.replication.lag(nowMilliseconds: now)
            snapshot.lagRecords = Int64(lag.lsns)
            snapshot.lagMilliseconds = lag.milliseconds
            if let peer = configuration.replication?.peer {
                snapshot.members.append(.init(name: "\(peer)", role: "primary", state: node.linkStatus,
                                              lsn: standby.replication.primaryLastWrittenLSN.map { Int64($0.rawValue) }, lagBytes: nil))
            }
        }
        snapshot.events = events.all
        snapshot.history = AdminSnapshot.history(node.history.entries, events: snapshot.events)
        snapshot.extra = [
            ("log_epoch", .int(Int64(node.epoch.rawValue))),
            ("connected_clients", .int(Int64(connectedClientCount))),
            ("witness_link", .optional(replication.witnessLink.map { $0.isConnected ? "up" : "down" })),
            ("last_refusal", .optional(node.lastRefusal)),
            ("log_failure", .optional(node.logFailure)),
            ("disk_full", .optional(node.diskFull)),
        ]
        return snapshot
    }

    // MARK: Drain

    /// `understudy drain` or SIGTERM: health turns 503 at once, then the client listener
    /// closes (the service then hands over, drains and stops, as for SIGTERM). Idempotent.
    func requestDrain(source: String) {
        eventLoop.assertInEventLoop()
        guard !drainRequested else { return }
        drainRequested = true
        logger.notice("drain requested: health answers 503, the client listener closes", metadata: ["source": "\(source)"])
        onDrainRequested?()
    }

    /// What `DRAIN` answers: what the node is about to do.
    func drainCommand() -> Reply {
        let plan = node.handsOverOnShutdown
            ? "handing over to \(node.primary?.standbyLink?.address ?? "the standby") first"
            : "no hand-over (not a primary with an attached standby)"
        requestDrain(source: "DRAIN command")
        return .simple("OK draining: \(plan); in-flight requests finish within \(configuration.drainTimeoutMilliseconds) ms")
    }

    /// `EVENTS [count]`: the newest events (default all kept), oldest first, one JSON
    /// object per bulk string.
    func eventsCommand(_ arguments: [[UInt8]]) -> Reply {
        var count = EventLog.capacity
        if arguments.count == 2 {
            guard let value = Int(String(decoding: arguments[1], as: UTF8.self)), value >= 0 else {
                return .error("ERR EVENTS count must be a non-negative integer")
            }
            count = value
        } else if arguments.count > 2 {
            return .error("ERR syntax error: EVENTS [count]")
        }
        return .array(events.newest(count).map { .bulk(Array($0.json.text.utf8)) })
    }
}

/// The node's side of the admin port.
struct NodeAdminBackend: AdminBackend {
    let engine: NodeEngine
    let metricsExposition: (@Sendable () -> [UInt8])?
    var isWitness: Bool { false }
    var users: UserTable { engine.configuration.users }

    func authenticationFailed(client: String) {
        engine.eventLoop.execute {
            engine.statistics.authenticationFailures += 1
            engine.metrics.refused(.auth)
            engine.logger.warning("authentication failed", metadata: ["client": "\(client)", "endpoint": "POST /switchover"])
        }
    }

    func snapshot() -> EventLoopFuture<AdminSnapshot> {
        engine.eventLoop.submit { engine.adminSnapshot() }
    }

    func switchover(candidate: String?) -> EventLoopFuture<AdminSwitchoverOutcome> {
        engine.eventLoop.flatSubmit {
            let promise = engine.eventLoop.makePromise(of: AdminSwitchoverOutcome.self)
            var started = false
            engine.beginHandover(to: candidate, timeoutMilliseconds: NodeLimits.standard.switchoverTimeoutMilliseconds) { result in
                switch result {
                case .success(let primary): promise.succeed(.done(primary: primary))
                case .failure(let error): promise.succeed(started ? .failed(error.message) : .refused(error.message))
                }
            }
            started = true
            return promise.futureResult
        }
    }
}
