/// Every command Understudy knows, with its arity and handler.
public enum CommandTable {
    /// All commands, in a stable order (COMMAND COUNT, COMMAND DOCS).
    public static let all: [CommandSpec] = [
        CommandSpec(name: "get", arity: 2, handler: .keyspace, isWrite: false),
        CommandSpec(name: "set", arity: -3, handler: .keyspace, isWrite: true),
        CommandSpec(name: "ping", arity: -1, handler: .connection, isWrite: false),
        CommandSpec(name: "info", arity: -1, handler: .server, isWrite: false),
    ]

    private static let byName: [String: CommandSpec] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) }
    )

    /// The spec for a lower-case command name, or `nil` for an unknown command.
    public static func spec(named name: String) -> CommandSpec? {
        byName[name]
    }
}
