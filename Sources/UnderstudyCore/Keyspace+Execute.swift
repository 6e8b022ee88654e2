extension Keyspace {
    /// Executes one keyspace command at `nowMilliseconds` (Unix time).
    ///
    /// The command's arity has already been checked against `CommandTable`. The returned
    /// effects have already been applied to `self`.
    public mutating func execute(
        _ command: Command,
        nowMilliseconds: Int64,
        random: inout some RandomNumberGenerator
    ) -> Execution {
        let arguments = command.arguments
        switch command.name {
        case "get":
            guard let entry = entries[arguments[1]], !entry.isExpired(atMilliseconds: nowMilliseconds) else {
                return Execution(reply: .nullBulk)
            }
            return Execution(reply: .bulk(entry.value))
        case "set":
            let effects = [Effect.set(key: arguments[1], value: arguments[2], expireAtMilliseconds: nil)]
            apply(effects)
            return Execution(reply: .ok, effects: effects)
        default:
            return Execution(reply: .error("ERR unknown command '\(command.name)'"))
        }
    }
}
