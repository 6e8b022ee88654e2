/// What a standby tells the primary when it asks to replicate:
///
/// ```
/// REPLICATE <protocol-version> <standby-listen-address> <epoch> <last-lsn> <last-record-checksum> <history> [<cluster>]
/// ```
/// `cluster` is the standby's cluster identity (`ClusterIdentity`), absent or `-` while it has none.
///
/// Every field is canonical decimal except the address (`host:port`, IPv6 hosts in
/// brackets) and the history (its text form). `last-record-checksum` is `-` when the
/// standby does not know its record at `last-lsn`: at LSN 0, or from a snapshot whose header
/// predates the checksum field.
public struct StandbyHandshake: Hashable, Sendable {
    /// The protocol version this code speaks.
    public static let currentProtocolVersion: UInt32 = 2
    /// The command name, as sent.
    public static let commandName = "REPLICATE"
    /// The longest standby address accepted.
    public static let maximumAddressBytes = 261

    public var protocolVersion: UInt32
    /// The standby's client address (`--listen`), so that the primary can name it.
    public var standbyAddress: String
    /// The highest epoch the standby has seen.
    public var epoch: Epoch
    /// The LSN of the standby's last record (0: none).
    public var lastLSN: LSN
    /// The CRC32C of the standby's record at `lastLSN`, as framed in its WAL; nil when it
    /// does not know it (LSN 0, or state loaded from a snapshot whose header lacks it).
    public var lastRecordChecksum: UInt32?
    public var history: EpochHistory
    /// The standby's cluster identity; nil while it has none (a new node).
    public var clusterID: String?

    public init(protocolVersion: UInt32 = Self.currentProtocolVersion, standbyAddress: String, epoch: Epoch,
                lastLSN: LSN, lastRecordChecksum: UInt32?, history: EpochHistory, clusterID: String? = nil) {
        self.clusterID = clusterID
        self.protocolVersion = protocolVersion
        self.standbyAddress = standbyAddress
        self.epoch = epoch
        self.lastLSN = lastLSN
        self.lastRecordChecksum = lastRecordChecksum
        self.history = history
    }
}
