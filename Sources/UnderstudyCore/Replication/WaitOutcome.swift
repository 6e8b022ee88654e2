/// The immediate answer to a `WAIT`.
public enum WaitOutcome: Hashable, Sendable {
    /// Answer now with `replicas`.
    case satisfied(replicas: Int)
    /// Keep the connection waiting: a `.completeWait` action answers it later.
    case pending
    /// Too many connections already wait: answer `-<message>`.
    case refused(message: String)
}
