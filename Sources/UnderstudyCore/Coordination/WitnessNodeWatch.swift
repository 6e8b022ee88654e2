/// What the witness can tell of its nodes being up or down, for its events (`node_down`,
/// `node_up`): the primary by its heartbeats, the standby by what the primary's heartbeat
/// says of it (the standby talks to the witness only to vote or report).
///
/// Pure: the shell feeds it every heartbeat and ticks it with the time. It decides nothing
/// about votes or leases (the `Witness` does); it only reports.
public struct WitnessNodeWatch: Sendable {
    /// A primary silent for this many of its leases counts as down (two leases: with the
    /// default 500 ms lease, about the nodes' default 1 s failure timeout).
    public static let silentLeases: Int64 = 2

    private var primary: (name: String, lastHeardMilliseconds: Int64, leaseMilliseconds: Int64, down: Bool)?
    private var standbyAttached: (name: String, attached: Bool)?

    public init() {}

    /// A heartbeat from `beat.node`, whose standby is `standby` (the other node).
    public mutating func heard(_ beat: WitnessHeartbeat, standby: String, nowMilliseconds now: Int64) -> [NodeEvent] {
        var events: [NodeEvent] = []
        if let known = primary, known.name == beat.node, known.down {
            events.append(NodeEvent(.nodeUp, epoch: beat.epoch, reason: "heartbeats from the primary \(beat.node) again", ["node": beat.node]))
        }
        let newPrimary = primary.map { $0.name != beat.node } ?? false
        primary = (beat.node, now, beat.leaseMilliseconds, false)
        // A new primary's standby is the old primary: it was attached as far as anyone knew.
        let before = standbyAttached?.name == standby ? standbyAttached?.attached : (newPrimary ? true : nil)
        if let before, before != beat.standbyAttached {
            events.append(beat.standbyAttached
                ? NodeEvent(.nodeUp, epoch: beat.epoch, reason: "the primary reports its standby \(standby) attached", ["node": standby])
                : NodeEvent(.nodeDown, epoch: beat.epoch, reason: "the primary \(beat.node) reports no standby attached", ["node": standby]))
        }
        standbyAttached = (standby, beat.standbyAttached)
        return events
    }

    /// Every tick: a primary silent for `silentLeases` leases is reported down, once.
    public mutating func tick(nowMilliseconds now: Int64, epoch: Epoch?) -> [NodeEvent] {
        guard let known = primary, !known.down,
              now - known.lastHeardMilliseconds > Self.silentLeases * max(known.leaseMilliseconds, 1) else { return [] }
        primary?.down = true
        return [NodeEvent(.nodeDown, epoch: epoch, reason: "no heartbeat from the primary \(known.name) for \(now - known.lastHeardMilliseconds) ms",
                          ["node": known.name])]
    }
}
