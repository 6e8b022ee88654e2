import UnderstudyCore

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
}
