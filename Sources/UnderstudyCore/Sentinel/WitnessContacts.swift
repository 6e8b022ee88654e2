/// When the witness last heard from each data node: what it tells Sentinel-aware clients
/// about a node's health (`s_down`), since the witness pings no one of its own accord.
///
/// A node is heard when it sends any request naming itself. The standby speaks to the
/// witness only to say HELLO or to ask for a vote, so it is also heard through each of the
/// primary's heartbeats that says a standby streams from it.
public struct WitnessContacts: Hashable, Sendable {
    /// The data nodes' names (their `--listen` addresses), in `--nodes` order.
    public let nodes: [String]
    /// Per node, the witness's monotonic instant it last heard from (or of) that node.
    public private(set) var lastHeardMilliseconds: [String: Int64]

    /// Every node counts as heard when the witness starts: none is reported down before the
    /// witness could have heard from it.
    public init(nodes: [String], startedAtMilliseconds: Int64) {
        self.nodes = nodes
        lastHeardMilliseconds = Dictionary(uniqueKeysWithValues: nodes.map { ($0, startedAtMilliseconds) })
    }

    /// Notes the request a node sent at `nowMilliseconds`.
    /// - Parameter member: the witness's name for a claimed node (`Witness.member`), nil
    ///   for a stranger, whose requests say nothing of the members.
    public mutating func heard(_ request: WitnessRequest, member: (String) -> String?, nowMilliseconds now: Int64) {
        let claimed: String
        switch request {
        case .status:
            return
        case .hello(let node, _, _, _, _, _), .vote(let node, _, _, _, _, _), .standbySync(let node, _, _, _),
             .handover(let node, _, _, _, _), .force(let node, _):
            claimed = node
        case .heartbeat(let beat):
            claimed = beat.node
            if beat.standbyAttached, let primary = member(beat.node), let standby = nodes.first(where: { $0 != primary }) {
                note(standby, now)
            }
        }
        if let node = member(claimed) { note(node, now) }
    }

    /// How long ago the witness last heard from `node` (0 for a node it does not serve).
    public func silenceMilliseconds(of node: String, nowMilliseconds now: Int64) -> Int64 {
        max(0, now - (lastHeardMilliseconds[node] ?? now))
    }

    private mutating func note(_ node: String, _ now: Int64) {
        lastHeardMilliseconds[node] = max(lastHeardMilliseconds[node] ?? now, now)
    }
}
