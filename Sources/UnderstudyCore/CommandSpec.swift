/// Static facts about one command: how many arguments it takes and who executes it.
public struct CommandSpec: Sendable {
    /// Who executes a command.
    public enum Handler: Sendable {
        /// `Keyspace.execute`: data commands, pure, may produce effects.
        case keyspace
        /// The connection's session (PING, ECHO, SELECT, CLIENT, HELLO, QUIT, ...).
        case connection
        /// The server shell (INFO, CONFIG, COMMAND, ...): needs node-wide state.
        case server
    }

    /// Lower-case name.
    public var name: String
    /// Redis arity: positive = exact argument count (name included), negative = at least -arity.
    public var arity: Int
    public var handler: Handler
    /// Whether the command may change the keyspace (refused on a standby later).
    public var isWrite: Bool

    public init(name: String, arity: Int, handler: Handler, isWrite: Bool) {
        self.name = name
        self.arity = arity
        self.handler = handler
        self.isWrite = isWrite
    }

    /// Whether `argumentCount` (name included) satisfies the arity.
    public func accepts(argumentCount: Int) -> Bool {
        arity >= 0 ? argumentCount == arity : argumentCount >= -arity
    }
}
