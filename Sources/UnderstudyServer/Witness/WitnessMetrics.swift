import CoreMetrics
import UnderstudyCore

/// What the witness reports through swift-metrics: its epoch, the heartbeats it answers,
/// its votes by result and how often the primary it records changes.
struct WitnessMetrics: Sendable {
    private let epoch: Gauge
    private let heartbeats: Counter
    private let votesGranted: Counter
    private let votesDenied: Counter
    private let votesStale: Counter
    private let primaryChanges: Counter
    private let peerAuthRefusals: Counter

    init(factory: any MetricsFactory) {
        epoch = Gauge(label: "understudy_witness_epoch", factory: factory)
        heartbeats = Counter(label: "understudy_witness_heartbeats_total", factory: factory)
        func votes(_ result: String) -> Counter {
            Counter(label: "understudy_witness_votes_total", dimensions: [("result", result)], factory: factory)
        }
        votesGranted = votes("granted")
        votesDenied = votes("denied")
        votesStale = votes("stale_epoch")
        primaryChanges = Counter(label: "understudy_witness_primary_changes_total", factory: factory)
        peerAuthRefusals = Counter(label: "understudy_witness_refusals_total", dimensions: [("reason", "peer_auth")], factory: factory)
        Gauge(label: "understudy_build_info", dimensions: [("version", ServerInfo.version)], factory: factory).record(1)
    }

    /// A request or handshake refused because the connection did not prove the cluster secret.
    func peerAuthRefused() {
        peerAuthRefusals.increment()
    }

    /// One request was answered: `before` and `after` are the record around it.
    func handled(_ request: WitnessRequest, reply: WitnessReply, before: WitnessRecord?, after: WitnessRecord?) {
        switch request {
        case .heartbeat:
            heartbeats.increment()
        case .vote:
            switch reply {
            case .state: votesGranted.increment()
            case .denied: votesDenied.increment()
            case .staleEpoch: votesStale.increment()
            }
        default:
            break
        }
        if let after {
            epoch.record(Int64(after.epoch.rawValue))
            if let before, before.primary != after.primary { primaryChanges.increment() }
        }
    }

    /// The record loaded at start (its epoch, before any request).
    func loaded(_ record: WitnessRecord?) {
        epoch.record(Int64(record?.epoch.rawValue ?? 0))
    }
}
