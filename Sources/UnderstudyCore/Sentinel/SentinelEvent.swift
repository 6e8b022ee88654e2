/// Something a Redis Sentinel would publish on its own channel of that name (`+switch-master`,
/// `+sdown`, …), decided by comparing two `SentinelView`s of the witness: the shell only
/// formats and publishes the list `changes(from:to:)` returns, in its order.
public enum SentinelEvent: Hashable, Sendable {
    /// The instance a message is about, with the master it belongs to for a replica.
    public enum Subject: Hashable, Sendable {
        case master(SentinelEndpoint)
        /// A replica, by its address, and its master's endpoint.
        case replica(address: String, SentinelEndpoint, master: SentinelEndpoint)
    }

    case newEpoch(Epoch)
    /// The witness granted the new epoch: it is the (only) leader of that failover.
    case electedLeader(old: SentinelEndpoint)
    case failoverEnd(old: SentinelEndpoint)
    /// The primary changed: every failover and switchover, whatever made it.
    case switchMaster(old: SentinelEndpoint, new: SentinelEndpoint)
    /// The old master of a switchover now replicates from the new one.
    case convertToReplica(Subject)
    case subjectivelyDown(Subject)
    case subjectivelyUp(Subject)
    /// With a quorum of 1 a master the witness no longer hears is objectively down too.
    case objectivelyDown(SentinelEndpoint)
    case objectivelyUp(SentinelEndpoint)

    /// What happened between two views, in the order Sentinel publishes it: a new epoch,
    /// the failover's end and the switch of master, then changes in health.
    /// A view of nil (no primary yet) and the first view publish no change of master.
    public static func changes(from old: SentinelView?, to new: SentinelView?) -> [SentinelEvent] {
        guard let new else { return [] }
        var events: [SentinelEvent] = []
        if let old, new.epoch > old.epoch { events.append(.newEpoch(new.epoch)) }
        if let old, old.master.address != new.master.address {
            let from = old.master.endpoint
            events += [.electedLeader(old: from), .failoverEnd(old: from), .switchMaster(old: from, new: new.master.endpoint)]
            if let demoted = new.replicas.first(where: { $0.address == old.master.address }), !demoted.isDown {
                events.append(.convertToReplica(subject(demoted, in: new)))
            }
        }
        events += healthChanges(from: old, to: new)
        return events
    }

    /// `+sdown`/`-sdown` (and for the master `+odown`/`-odown`) per instance whose health
    /// changed in the same role; an instance new in its role starts healthy, as Sentinel's
    /// freshly created instances do, so a dead old master is reported down as a replica.
    private static func healthChanges(from old: SentinelView?, to new: SentinelView) -> [SentinelEvent] {
        var events: [SentinelEvent] = []
        let sameMaster = old?.master.address == new.master.address
        let wasDown = sameMaster && old?.master.isDown == true
        if new.master.isDown != wasDown {
            let endpoint = new.master.endpoint
            events += new.master.isDown
                ? [.subjectivelyDown(.master(endpoint)), .objectivelyDown(endpoint)]
                : [.subjectivelyUp(.master(endpoint)), .objectivelyUp(endpoint)]
        }
        for replica in new.replicas {
            let before = sameMaster ? old?.replicas.first(where: { $0.address == replica.address }) : nil
            guard replica.isDown != (before?.isDown ?? false) else { continue }
            let subject = subject(replica, in: new)
            events.append(replica.isDown ? .subjectivelyDown(subject) : .subjectivelyUp(subject))
        }
        return events
    }

    private static func subject(_ replica: SentinelView.Instance, in view: SentinelView) -> Subject {
        .replica(address: replica.address, replica.endpoint, master: view.master.endpoint)
    }

    /// The Pub/Sub channel Sentinel publishes it on.
    public var channel: String {
        switch self {
        case .newEpoch: "+new-epoch"
        case .electedLeader: "+elected-leader"
        case .failoverEnd: "+failover-end"
        case .switchMaster: "+switch-master"
        case .convertToReplica: "+convert-to-slave"
        case .subjectivelyDown: "+sdown"
        case .subjectivelyUp: "-sdown"
        case .objectivelyDown: "+odown"
        case .objectivelyUp: "-odown"
        }
    }

    /// The message, in Sentinel's formats: `<master-name> <old-ip> <old-port> <new-ip>
    /// <new-port>` for a switch, the epoch for a new epoch, and otherwise the instance as
    /// `<instance-type> <name> <ip> <port> [@ <master-name> <master-ip> <master-port>]`.
    public func message(masterName: String) -> String {
        func master(_ endpoint: SentinelEndpoint) -> String { "master \(masterName) \(endpoint.words)" }
        switch self {
        case .newEpoch(let epoch):
            return "\(epoch)"
        case .switchMaster(let old, let new):
            return "\(masterName) \(old.words) \(new.words)"
        case .electedLeader(let old), .failoverEnd(let old), .objectivelyUp(let old):
            return master(old)
        case .objectivelyDown(let endpoint):
            return master(endpoint) + " #quorum 1/1"
        case .convertToReplica(let subject), .subjectivelyDown(let subject), .subjectivelyUp(let subject):
            switch subject {
            case .master(let endpoint):
                return master(endpoint)
            case .replica(let address, let endpoint, let masterEndpoint):
                return "slave \(address) \(endpoint.words) @ \(masterName) \(masterEndpoint.words)"
            }
        }
    }
}
