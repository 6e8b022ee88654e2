public import UnderstudyCore

/// `REPLICATE` on the wire: the typed handshake as RESP arguments and back, validated once
/// here — the shell splits nothing, and the simulator exchanges the typed value.
extension StandbyHandshake {
    /// The command as RESP arguments, the command name first.
    public var arguments: [[UInt8]] {
        [
            Array(Self.commandName.utf8),
            DecimalText.bytes(UInt64(protocolVersion)),
            Array(standbyAddress.utf8),
            DecimalText.bytes(epoch.rawValue),
            DecimalText.bytes(lastLSN.rawValue),
            lastRecordChecksum.map { DecimalText.bytes(UInt64($0)) } ?? [UInt8(ascii: "-")],
            history.textBytes,
            Array((clusterID ?? "-").utf8),
        ]
    }

    /// Parses and validates the command's RESP arguments, the command name first.
    /// - Throws: `ReplicationError` with `.malformedHandshake` naming the field, or
    ///   `.unsupportedProtocolVersion`.
    public init(arguments: [[UInt8]]) throws {
        guard arguments.count == 7 || arguments.count == 8 else {
            throw Self.malformed("REPLICATE takes 7 arguments, not \(max(arguments.count - 1, 0))")
        }
        var clusterID: String?
        if arguments.count == 8, arguments[7] != [UInt8(ascii: "-")] {
            let text = String(decoding: arguments[7], as: UTF8.self)
            guard ClusterIdentity.isValid(text) else { throw Self.malformed("cluster identity is not 32 hexadecimal digits") }
            clusterID = text
        }
        guard arguments[0].count == Self.commandName.utf8.count,
              String(decoding: arguments[0], as: UTF8.self).uppercased() == Self.commandName else {
            throw Self.malformed("not a REPLICATE command")
        }
        guard let version = DecimalText.parse(arguments[1]), let protocolVersion = UInt32(exactly: version) else {
            throw Self.malformed("protocol version is not a number")
        }
        guard protocolVersion == Self.currentProtocolVersion else {
            throw ReplicationError(.unsupportedProtocolVersion,
                                   "replication protocol version \(protocolVersion) is not supported (this node speaks \(Self.currentProtocolVersion))")
        }
        let address = try Self.parseAddress(arguments[2])
        guard let epoch = DecimalText.parse(arguments[3]), epoch >= 1 else {
            throw Self.malformed("epoch is not a number of at least 1")
        }
        guard let lastLSN = DecimalText.parse(arguments[4]) else {
            throw Self.malformed("last LSN is not a number")
        }
        let checksum = try Self.parseChecksum(arguments[5], lastLSN: LSN(lastLSN))
        let history: EpochHistory
        do {
            history = try EpochHistory(text: arguments[6])
        } catch let error as ReplicationError {
            throw Self.malformed("history: \(error.message)")
        }
        guard history.currentEpoch <= Epoch(epoch) else {
            throw Self.malformed("history reaches epoch \(history.currentEpoch), beyond the standby's epoch \(epoch)")
        }
        self.init(protocolVersion: protocolVersion, standbyAddress: address, epoch: Epoch(epoch),
                  lastLSN: LSN(lastLSN), lastRecordChecksum: checksum, history: history, clusterID: clusterID)
    }

    private static func parseChecksum(_ bytes: [UInt8], lastLSN: LSN) throws -> UInt32? {
        if bytes == [UInt8(ascii: "-")] { return nil }
        guard lastLSN != .zero else { throw malformed("last record checksum must be - at LSN 0") }
        guard let value = DecimalText.parse(bytes), let checksum = UInt32(exactly: value) else {
            throw malformed("last record checksum is not a 32-bit number or -")
        }
        return checksum
    }

    /// `host:port`: printable ASCII without spaces, a port in 1...65535, and a host that
    /// is non-empty and bracketed if it holds colons (IPv6).
    private static func parseAddress(_ bytes: [UInt8]) throws -> String {
        guard !bytes.isEmpty, bytes.count <= maximumAddressBytes else {
            throw malformed("standby address must be 1 to \(maximumAddressBytes) bytes")
        }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw malformed("standby address must be printable ASCII without spaces")
        }
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
              let port = DecimalText.parse(bytes[(colon + 1)...]), (1...65535).contains(port) else {
            throw malformed("standby address must end in :port (1-65535)")
        }
        let host = bytes[..<colon]
        let bracketed = host.first == UInt8(ascii: "[") && host.last == UInt8(ascii: "]") && host.count > 2
        let plain = !host.contains { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }
        guard !host.isEmpty, bracketed || plain else {
            throw malformed("standby address needs a host (IPv6 in brackets)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func malformed(_ message: String) -> ReplicationError {
        ReplicationError(.malformedHandshake, "invalid REPLICATE: \(message)")
    }
}
