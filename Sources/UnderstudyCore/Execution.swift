/// What executing one command produced: the reply for the client and the effects to log.
///
/// The shell MUST append `effects` (when non-empty) to the WAL as one record, and MUST NOT
/// send `reply` before that record is as durable as the node's fsync policy requires.
public struct Execution: Equatable, Sendable {
    public var reply: Reply
    public var effects: [Effect]

    public init(reply: Reply, effects: [Effect] = []) {
        self.reply = reply
        self.effects = effects
    }
}
