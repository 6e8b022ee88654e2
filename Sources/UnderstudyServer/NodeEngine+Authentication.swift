import NIOCore
import UnderstudyCore
import UnderstudyWire

/// How this node authenticates its own connections to its peer's client port (a standby's
/// `REPLICATE`, a primary's `FENCE`): with the `default` user's password, as Redis's
/// `masterauth`. Both nodes of a pair MUST be given the same password file.
extension NodeEngine {
    /// The password sent as `AUTH password` before anything else; nil without one.
    var peerPassword: String? {
        configuration.users.defaultPassword.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `AUTH password` into `buffer` when the node has a password.
    func writePeerAuthentication(into buffer: inout ByteBuffer) {
        guard let password = configuration.users.defaultPassword else { return }
        buffer.writeRESPCommand(Command(arguments: [Array("AUTH".utf8), password]))
    }
}
