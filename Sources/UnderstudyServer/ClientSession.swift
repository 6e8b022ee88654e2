import UnderstudyCore
import UnderstudyWire

/// Per-connection state that commands such as CLIENT and HELLO read and change.
struct ClientSession {
    var id: Int64 = 0
    var name: [UInt8]? = nil
    var libraryName: String? = nil
    var libraryVersion: String? = nil
    var remoteAddress = "?"
    var connectedAtMonotonicMilliseconds: Int64 = 0
    var lastCommandName = "NULL"
    /// The LSN of this connection's last write (what WAIT and DURABILITY ask about).
    var lastWriteLSN = LSN.zero
    /// The protocol replies are encoded in: RESP2 until `HELLO 3`; `HELLO 2` and RESET
    /// switch back. A reply is encoded when its command runs, so a reply held for
    /// durability keeps the protocol it was made in.
    var protocolVersion = ProtocolVersion.resp2
    /// The one place that says "this connection is a cluster member": it proved the cluster
    /// secret with `PEERAUTH` (ClientHandler+PeerAuth.swift). REPLICATE and FENCE need it
    /// when a secret is configured; client authentication (AUTH) treats it as authenticated.
    var isAuthenticatedPeer = false
    /// The server's end of this connection's peer handshake, once `PEERAUTH` was sent.
    var peerHandshake: PeerAuthResponder?
    /// The user this connection authenticated as, and what it may do; nil until it
    /// authenticates (set at connect when no password is configured).
    var user: UserTable.User?
    /// The client's IP address without its port: what failed authentications are counted by.
    var remoteHost = "?"

    /// Redis's rule for CLIENT SETNAME and HELLO SETNAME: printable ASCII without spaces.
    static func isValidName(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 > 32 && $0 < 127 }
    }

    static let invalidNameReply = Reply.error("ERR Client names cannot contain spaces, newlines or special characters.")

    /// Sets the name (an empty one clears it), or returns the error Redis gives.
    mutating func setName(_ name: [UInt8]) -> Reply? {
        guard Self.isValidName(name) else { return Self.invalidNameReply }
        self.name = name.isEmpty ? nil : name
        return nil
    }
}
