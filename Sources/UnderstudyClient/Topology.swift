import UnderstudyCore

/// The client's view of the pair: which node is primary, in which epoch, which is standby,
/// and which nodes to probe. Pure: replies in, events and routes out.
///
/// Epochs fence stale views: the highest epoch seen never decreases, and an answer stamped
/// with a lower epoch (an old primary that has not heard it was replaced, a late redirect)
/// MUST NOT change the primary.
struct Topology: Sendable, Equatable {
    /// What one node said when probed (`ROLE` and `INFO replication`).
    struct ProbeAnswer: Sendable, Equatable {
        enum Role: Sendable, Equatable {
            case primary
            /// A standby, naming the primary it follows (if it could be parsed).
            case standby(primary: NodeAddress?)
        }
        var node: NodeAddress
        var role: Role
        /// `understudy_epoch` from `INFO replication` (0 if absent: a standalone node).
        var epoch: UInt64
        /// A standby's `understudy_lag_milliseconds` while `master_link_status:up`; nil otherwise.
        var lagMilliseconds: Int64? = nil
    }

    /// Where a command should go.
    enum Route: Sendable, Equatable {
        case primary
        /// A read that may be served (possibly stale) by the standby, if it reported at most
        /// this much lag at a recent probe.
        case standbyAllowed(maxLagMilliseconds: Int64)
    }

    /// How old a probe's view of the standby's lag may be for a read to rely on it.
    static let lagReportLifetimeMilliseconds: Int64 = 1_000

    /// Every node to probe: the seeds, then nodes learned from redirects and `ROLE`.
    private(set) var nodes: [NodeAddress]
    private(set) var primary: NodeAddress?
    private(set) var standby: NodeAddress?
    /// What the standby reported at the last probe: its lag (nil: its link to the primary was
    /// down, or it did not say) and when.
    private(set) var standbyLag: LagReport?

    struct LagReport: Sendable, Equatable {
        var milliseconds: Int64?
        var measuredAtMilliseconds: Int64
    }
    private(set) var highestEpoch: UInt64 = 0
    let minimumProbeIntervalMilliseconds: Int64
    private var lastProbeMilliseconds: Int64?

    init(seeds: [NodeAddress], minimumProbeIntervalMilliseconds: Int64) {
        precondition(!seeds.isEmpty, "a client needs at least one seed")
        var unique: [NodeAddress] = []
        for seed in seeds where !unique.contains(seed) { unique.append(seed) }
        self.nodes = unique
        self.minimumProbeIntervalMilliseconds = minimumProbeIntervalMilliseconds
    }

    /// The node for attempt `attemptIndex` (0 first) of a command, or nil when no primary is
    /// known (the caller probes). A read allowed on the standby goes there on its first
    /// attempt if the standby's lag, reported at a probe at most a second old, is within the
    /// bound; otherwise, and on retries, to the primary.
    func node(for route: Route, attemptIndex: Int, nowMilliseconds now: Int64) -> NodeAddress? {
        switch route {
        case .primary:
            return primary
        case .standbyAllowed(let maxLag):
            guard attemptIndex == 0, let standby, standbyLagWithin(maxLag, nowMilliseconds: now) else { return primary }
            return standby
        }
    }

    /// Whether the standby's last reported lag is known, recent and within `maxLag`.
    func standbyLagWithin(_ maxLag: Int64, nowMilliseconds now: Int64) -> Bool {
        guard let report = standbyLag, let lag = report.milliseconds,
              now - report.measuredAtMilliseconds <= Self.lagReportLifetimeMilliseconds else { return false }
        return lag <= maxLag
    }

    /// A read may go to the standby but its lag report is missing or too old: probe first.
    func wantsFreshLag(for route: Route, nowMilliseconds now: Int64) -> Bool {
        guard case .standbyAllowed = route, standby != nil else { return false }
        guard let report = standbyLag else { return true }
        return now - report.measuredAtMilliseconds > Self.lagReportLifetimeMilliseconds
    }

    /// Whether to start a probe now (after an error or redirect). Probes are at least
    /// `minimumProbeIntervalMilliseconds` apart, so that a burst of failures costs one.
    mutating func shouldProbe(nowMilliseconds now: Int64) -> Bool {
        if let last = lastProbeMilliseconds, now - last < minimumProbeIntervalMilliseconds { return false }
        lastProbeMilliseconds = now
        return true
    }

    /// A `-READONLY` from `node`: it is not primary; it may name the primary and an epoch.
    mutating func receive(_ redirect: ReplyClassification.Redirect, from node: NodeAddress) -> [TopologyEvent] {
        let epoch = redirect.epoch ?? highestEpoch
        guard epoch >= highestEpoch else {
            return [TopologyEvent(kind: .staleAnswerIgnored, node: node, epoch: epoch)]
        }
        highestEpoch = epoch
        learn(node)
        var events: [TopologyEvent] = []
        if primary == node {
            primary = nil
            events.append(TopologyEvent(kind: .primaryLost, node: node, epoch: epoch))
        }
        standby = node
        if let named = redirect.primary, named != node {
            learn(named)
            if primary != named {
                primary = named
                events.append(TopologyEvent(kind: .primaryChanged, node: named, epoch: epoch))
            }
        }
        return events
    }

    /// The answers of one probe round. The primary is the node that claims it in the highest
    /// epoch any answer (or earlier view) carries; claims from lower epochs are ignored.
    mutating func receive(_ answers: [ProbeAnswer], nowMilliseconds now: Int64 = 0) -> [TopologyEvent] {
        var events: [TopologyEvent] = []
        highestEpoch = answers.reduce(highestEpoch) { max($0, $1.epoch) }
        var claimant: NodeAddress?
        for answer in answers {
            learn(answer.node)
            switch answer.role {
            case .primary where answer.epoch < highestEpoch:
                events.append(TopologyEvent(kind: .staleAnswerIgnored, node: answer.node, epoch: answer.epoch))
            case .primary:
                if claimant == nil || answer.node == primary { claimant = answer.node }
            case .standby(let named):
                standby = answer.node
                standbyLag = LagReport(milliseconds: answer.lagMilliseconds, measuredAtMilliseconds: now)
                if let named { learn(named) }
            }
        }
        if let claimant {
            if standby == claimant { standby = nil }
            if primary != claimant {
                primary = claimant
                events.append(TopologyEvent(kind: .primaryChanged, node: claimant, epoch: highestEpoch))
            }
        } else if let lost = primary, answers.contains(where: { $0.node == lost }) {
            // The primary answered, but not as primary of the highest epoch: it is not one.
            primary = nil
            events.append(TopologyEvent(kind: .primaryLost, node: lost, epoch: highestEpoch))
        }
        return events
    }

    /// Parses a node's answers to `ROLE` and `INFO replication`; nil if `ROLE` is not in
    /// Redis's layout (`master …` or `slave host port …`).
    static func parseProbe(node: NodeAddress, role: Reply, info: Reply) -> ProbeAnswer? {
        guard case .array(let elements?) = role, case .bulk(let kindBytes?)? = elements.first else { return nil }
        let epoch = parseEpoch(info) ?? 0
        switch String(decoding: kindBytes, as: UTF8.self) {
        case "master":
            return ProbeAnswer(node: node, role: .primary, epoch: epoch)
        case "slave":
            var named: NodeAddress?
            if elements.count >= 3, case .bulk(let host?) = elements[1], case .integer(let port) = elements[2] {
                named = NodeAddress(host: String(decoding: host, as: UTF8.self), port: Int(port))
            }
            let linkUp = infoField(info, "master_link_status") == "up"
            let lag = linkUp ? infoField(info, "understudy_lag_milliseconds").flatMap { Int64($0) } : nil
            return ProbeAnswer(node: node, role: .standby(primary: named), epoch: epoch, lagMilliseconds: lag)
        default:
            return nil
        }
    }

    /// `understudy_epoch:<n>` in an `INFO` bulk reply.
    static func parseEpoch(_ info: Reply) -> UInt64? {
        infoField(info, "understudy_epoch").flatMap { UInt64($0) }
    }

    /// The value of `name:<value>` in an `INFO` bulk reply.
    static func infoField(_ info: Reply, _ name: String) -> Substring? {
        guard case .bulk(let bytes?) = info else { return nil }
        let prefix = name + ":"
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            return line.dropFirst(prefix.count).drop { $0 == " " }.prefix { $0 != "\r" }
        }
        return nil
    }

    private mutating func learn(_ node: NodeAddress) {
        if !nodes.contains(node) { nodes.append(node) }
    }
}
