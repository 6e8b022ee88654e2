import Logging
import NIOCore
import NIOPosix
import UnderstudyCore

extension WitnessService {
    /// `--admin`: the witness's admin HTTP port (health, liveness, cluster, history, events, metrics).
    func startAdmin(group: MultiThreadedEventLoopGroup, state: WitnessState, loop: any EventLoop) async throws -> (any Channel)? {
        guard let address = configuration.adminAddress else { return nil }
        let backend = WitnessAdminBackend(
            state: state, loop: loop, name: "\(configuration.host):\(configuration.port)",
            metricsExposition: configuration.metricsExposition)
        let channel = try await AdminServer.start(host: address.host, port: address.port, group: group, backend: backend)
        logger.info("admin HTTP ready", metadata: ["admin": "\(address.host):\(channel.localAddress?.port ?? address.port)"])
        return channel
    }
}

extension WitnessState {
    /// The witness's view for the admin port: its record's two nodes, its epoch, the epochs
    /// it granted while this process ran (their first LSN is the nodes' to know: null here).
    func adminSnapshot(name: String) -> AdminSnapshot {
        let now = WallClock.monotonicMilliseconds()
        let record = witness.record
        var snapshot = AdminSnapshot(
            name: name, isWitness: true, status: persistFailure == nil ? .running : .fenced, role: "witness",
            epoch: Int64(record?.epoch.rawValue ?? 0), uptimeSeconds: (now - startedAtMonotonicMilliseconds) / 1000)
        snapshot.scope = sentinel.masterName
        let report = witness.lastReport
        let promised = witness.promisedUntilMilliseconds > now
        for node in witness.nodes {
            if node == record?.primary {
                snapshot.members.append(.init(
                    name: node, role: "primary", state: promised ? "lease promised" : "no lease promised",
                    lsn: report.map { Int64($0.lastWrittenLSN.rawValue) }, lagBytes: nil))
            } else if node == record?.standby {
                snapshot.members.append(.init(
                    name: node, role: "standby", state: record?.standbyInSync == true ? "in sync" : "not in sync",
                    lsn: report?.standbyDurableLSN.map { Int64($0.rawValue) }, lagBytes: report?.standbyLagBytes))
            } else {
                snapshot.members.append(.init(name: node, role: "unknown", state: "not in the record", lsn: nil, lagBytes: nil))
            }
        }
        snapshot.events = events.all
        snapshot.history = snapshot.events.filter { $0.event.kind == .epochGranted }.map { event in
            (epoch: Int64(event.event.epoch?.rawValue ?? 0), firstLSN: nil, event: Optional(event))
        }
        snapshot.extra = [
            ("primary", .optional(record?.primary)), ("standby", .optional(record?.standby)),
            ("standby_in_sync", .bool(record?.standbyInSync ?? false)),
            ("promise_remaining_ms", .int(max(0, witness.promisedUntilMilliseconds - now))),
            ("persist_failure", .optional(persistFailure)),
        ]
        return snapshot
    }
}

/// The witness's side of the admin port (no switchover: the router answers 404 for it).
struct WitnessAdminBackend: AdminBackend {
    let state: WitnessState
    let loop: any EventLoop
    let name: String
    let metricsExposition: (@Sendable () -> [UInt8])?
    var isWitness: Bool { true }

    func snapshot() -> EventLoopFuture<AdminSnapshot> {
        loop.submit { state.adminSnapshot(name: name) }
    }

    func switchover(candidate: String?) -> EventLoopFuture<AdminSwitchoverOutcome> {
        loop.makeSucceededFuture(.refused("the witness does not switch over: ask the primary's admin port"))
    }
}
