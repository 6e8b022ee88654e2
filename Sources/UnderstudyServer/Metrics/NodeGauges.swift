import CoreMetrics

/// The node's state as gauges, set from what INFO replication reports
/// (`NodeEngine.gaugeValues()`) at each replication tick and before each exposition.
struct NodeGauges: Sendable {
    /// The values of the `role` label of `understudy_role`: exactly one is 1.
    static let roles = ["primary", "standby", "undecided", "standalone"]

    /// One reading of the node's state, in base units.
    struct Values: Hashable, Sendable {
        var role: String
        var epoch: UInt64
        var lastLSN: UInt64
        var durableLSN: UInt64
        /// On a primary with a standby attached: the LSN the standby has acknowledged durable.
        var standbyAcknowledgedLSN: UInt64?
        /// Bytes written to the WAL since the process started (`understudy_wal_position_bytes`).
        var walPositionBytes: Int64
        var lagBytes: Int64
        var lagMilliseconds: Int64
        /// Sync mode only: whether the witness records the standby as in sync.
        var standbyInSync: Bool?
        /// A coordinated primary only: how long its lease still runs.
        var leaseRemainingMilliseconds: Int64?
        var idempotencyEntries: Int
    }

    private let roleGauges: [(role: String, gauge: Gauge)]
    private let isPrimary: Gauge
    private let epoch: Gauge
    private let lastLSN: Gauge
    private let durableLSN: Gauge
    private let standbyAcknowledgedLSN: Gauge
    private let walPositionBytes: Gauge
    private let lagBytes: Gauge
    private let lagSeconds: Gauge
    private let standbyInSync: Gauge
    private let leaseRemainingSeconds: Gauge
    private let idempotencyEntries: Gauge

    init(factory: any MetricsFactory) {
        roleGauges = Self.roles.map { ($0, Gauge(label: "understudy_role", dimensions: [("role", $0)], factory: factory)) }
        isPrimary = Gauge(label: "understudy_is_primary", factory: factory)
        epoch = Gauge(label: "understudy_epoch", factory: factory)
        lastLSN = Gauge(label: "understudy_last_lsn", factory: factory)
        durableLSN = Gauge(label: "understudy_durable_lsn", factory: factory)
        standbyAcknowledgedLSN = Gauge(label: "understudy_standby_acknowledged_lsn", factory: factory)
        walPositionBytes = Gauge(label: "understudy_wal_position_bytes", factory: factory)
        lagBytes = Gauge(label: "understudy_replication_lag_bytes", factory: factory)
        lagSeconds = Gauge(label: "understudy_replication_lag_seconds", factory: factory)
        standbyInSync = Gauge(label: "understudy_standby_in_sync", factory: factory)
        leaseRemainingSeconds = Gauge(label: "understudy_lease_remaining_seconds", factory: factory)
        idempotencyEntries = Gauge(label: "understudy_idempotency_entries", factory: factory)
    }

    func update(_ values: Values) {
        for (role, gauge) in roleGauges {
            gauge.record(role == values.role ? 1 : 0)
        }
        isPrimary.record(values.role == "primary" || values.role == "standalone" ? 1 : 0)
        epoch.record(Int64(values.epoch))
        lastLSN.record(Int64(values.lastLSN))
        durableLSN.record(Int64(values.durableLSN))
        standbyAcknowledgedLSN.record(Int64(values.standbyAcknowledgedLSN ?? 0))
        walPositionBytes.record(values.walPositionBytes)
        lagBytes.record(values.lagBytes)
        lagSeconds.record(Double(values.lagMilliseconds) / 1000)
        // Without sync mode there is nothing to be out of sync with: 1, so an alert on 0 holds.
        standbyInSync.record(values.standbyInSync == false ? 0 : 1)
        leaseRemainingSeconds.record(Double(values.leaseRemainingMilliseconds ?? 0) / 1000)
        idempotencyEntries.record(values.idempotencyEntries)
    }
}
