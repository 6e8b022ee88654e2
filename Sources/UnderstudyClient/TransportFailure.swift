/// Why an attempt got no reply. Which side of the write it happened on decides whether the
/// command may have run.
enum TransportFailure: Equatable, Sendable, Error {
    /// Nothing reached the node: the connect was refused or failed, or the connection was
    /// closed before the request was written. The command did not run.
    case notSent(reason: String)
    /// The request was written, then the connection dropped or the attempt timed out. The
    /// command may have run.
    case sentWithoutReply(reason: String)

    var reason: String {
        switch self {
        case .notSent(let reason), .sentWithoutReply(let reason): reason
        }
    }
}
