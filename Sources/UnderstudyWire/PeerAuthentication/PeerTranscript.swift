/// What a peer link is for. The client names it in `PEERAUTH HELLO` and both proofs cover
/// it, so a handshake made for one kind of link proves nothing on another.
public enum PeerLink: String, Sendable, CaseIterable {
    /// A standby's `REPLICATE` to its primary (client port).
    case replication
    /// A data node's `WITNESS …` requests (witness port).
    case witness
    /// A node's `FENCE` to its peer (client port).
    case fence
}

/// Which end of the handshake made a proof. Each side's proof starts with its own label
/// (domain separation), so a server's proof can never be replayed as a client's, nor a
/// node's proof reflected back to it.
public enum PeerSide: String, Sendable {
    case client
    case server
}

/// Everything both proofs of one handshake cover: the link kind, the cluster identity the
/// server holds, both fresh nonces (the server's binds the client's proof to this
/// connection, the client's binds the server's) and both names.
public struct PeerTranscript: Sendable, Equatable {
    public var link: PeerLink
    /// The server's cluster identity ("-" before the cluster is bootstrapped).
    public var clusterID: String
    public var serverNonce: [UInt8]
    public var clientNonce: [UInt8]
    public var clientName: String
    public var serverName: String

    public init(link: PeerLink, clusterID: String, serverNonce: [UInt8], clientNonce: [UInt8],
                clientName: String, serverName: String) {
        self.link = link
        self.clusterID = clusterID
        self.serverNonce = serverNonce
        self.clientNonce = clientNonce
        self.clientName = clientName
        self.serverName = serverName
    }

    public static let protocolLabel = "understudy-peer-v1"

    /// The bytes `side` authenticates: its label, then every field with a 4-byte big-endian
    /// length in front, so no two different transcripts encode alike.
    public func message(for side: PeerSide) -> [UInt8] {
        var bytes: [UInt8] = []
        func field(_ value: [UInt8]) {
            let count = UInt32(value.count)
            bytes += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
            bytes += value
        }
        field(Array("\(Self.protocolLabel) \(side.rawValue)".utf8))
        field(Array(link.rawValue.utf8))
        field(Array(clusterID.utf8))
        field(serverNonce)
        field(clientNonce)
        field(Array(clientName.utf8))
        field(Array(serverName.utf8))
        return bytes
    }
}
