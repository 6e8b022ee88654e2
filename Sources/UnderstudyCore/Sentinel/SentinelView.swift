/// What a Redis Sentinel would say of the cluster, built from the witness's record, its
/// last report from the primary and when it last heard from each node: who is master,
/// who replicates from it, and which of them the witness no longer hears (`s_down`): the
/// master when it has been silent for longer than `downAfterMilliseconds`, the replica when
/// it has been silent for that much longer than the master.
///
/// The witness is the only "sentinel" and its quorum is 1, so a master it no longer hears
/// is objectively down as well. The shell formats this value (`SENTINEL MASTERS`, …) and
/// diffs two of them (`SentinelEvent.changes`) to publish what happened; it decides
/// nothing itself.
public struct SentinelView: Hashable, Sendable {
    /// One data node as Sentinel describes an instance.
    public struct Instance: Hashable, Sendable {
        /// The node's name: its `--listen` address as given to the witness's `--nodes`.
        public var address: String
        public var endpoint: SentinelEndpoint
        /// The witness has not heard from it for longer than `downAfterMilliseconds`.
        public var isDown: Bool
        /// How long ago the witness last heard from it.
        public var silenceMilliseconds: Int64
        /// A replica: the primary's last report of this epoch says it streams (Sentinel's
        /// `master-link-status:ok`). Always true for the master.
        public var linkUp: Bool
        /// A replica: the LSN the primary last reported it durable at (`slave-repl-offset`).
        public var replicationOffset: UInt64
    }

    /// The Sentinel master name (`--cluster-name`).
    public var masterName: String
    /// The witness record's epoch: Sentinel's `config-epoch`.
    public var epoch: Epoch
    public var master: Instance
    /// The record's standby, if it names one.
    public var replicas: [Instance]
    public var downAfterMilliseconds: Int64

    /// nil while no primary has been chosen (a new cluster): Sentinel clients then learn of
    /// no master at all.
    public init?(masterName: String, record: WitnessRecord?, lastReport: WitnessHeartbeat?, contacts: WitnessContacts,
                 downAfterMilliseconds: Int64, nowMilliseconds now: Int64) {
        guard let record, let primary = record.primary, let primaryEndpoint = SentinelEndpoint(parsing: primary) else { return nil }
        func silence(_ node: String) -> Int64 { contacts.silenceMilliseconds(of: node, nowMilliseconds: now) }
        self.masterName = masterName
        self.epoch = record.epoch
        self.downAfterMilliseconds = downAfterMilliseconds
        master = Instance(address: primary, endpoint: primaryEndpoint, isDown: silence(primary) > downAfterMilliseconds,
                          silenceMilliseconds: silence(primary), linkUp: true, replicationOffset: 0)
        replicas = []
        if let standby = record.standby, let endpoint = SentinelEndpoint(parsing: standby) {
            // The report speaks of this epoch's primary only; an older one's is no evidence.
            let report = lastReport.flatMap { $0.epoch == record.epoch && $0.node == primary ? $0 : nil }
            // The standby is mostly heard through the primary's heartbeats: it is down when the
            // witness hears the primary but not of it. While the primary is silent too there is
            // no evidence either way, and the standby is not reported down.
            let isDown = silence(standby) - silence(primary) > downAfterMilliseconds
            replicas.append(Instance(
                address: standby, endpoint: endpoint, isDown: isDown, silenceMilliseconds: silence(standby),
                linkUp: !master.isDown && !isDown && report?.standbyAttached == true,
                replicationOffset: report?.standbyDurableLSN?.rawValue ?? 0))
        }
    }
}

/// An instance's address as Sentinel reports it: the IP (or host name) and the port, apart.
/// The one `HOST:PORT` parser (`NetworkAddress`) makes it.
public typealias SentinelEndpoint = NetworkAddress

extension NetworkAddress {
    /// `<ip> <port>`, as Sentinel's messages write an address.
    public var words: String { "\(host) \(port)" }
}
