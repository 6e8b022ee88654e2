import UnderstudyCore

extension ClientHandler {
    /// Looks a command up, checks its arity and hands it to whoever executes it.
    /// Returns the reply and the LSN it depends on (`.zero` for replies that reveal no data).
    func dispatch(_ command: Command) -> (Reply, LSN) {
        let name = command.name
        guard let spec = CommandTable.spec(named: name) else {
            return (CommandTable.unknownCommandReply(for: command), .zero)
        }
        guard spec.accepts(argumentCount: command.arguments.count) else {
            return (CommandTable.wrongNumberOfArgumentsReply(for: name), .zero)
        }
        session.lastCommandName = name
        switch spec.handler {
        case .keyspace:
            return engine.execute(command, isWrite: spec.isWrite)
        case .connection:
            engine.statistics.totalCommandsProcessed += 1
            return (executeConnectionCommand(command), .zero)
        case .server:
            engine.statistics.totalCommandsProcessed += 1
            return (engine.executeServerCommand(command), engine.lastAppendedLSN)
        }
    }
}
