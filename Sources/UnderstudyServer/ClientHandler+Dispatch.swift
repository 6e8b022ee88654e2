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
            let (reply, requiredLSN) = engine.execute(command, isWrite: spec.isWrite)
            if spec.isWrite, !reply.isError { session.lastWriteLSN = requiredLSN }
            return (reply, requiredLSN)
        case .connection:
            engine.statistics.totalCommandsProcessed += 1
            return (executeConnectionCommand(command), .zero)
        case .server:
            engine.statistics.totalCommandsProcessed += 1
            // INFO, ROLE, CONFIG and COMMAND report on the node, not on keys: they answer at
            // once, even while writes wait for a missing standby.
            return (engine.executeServerCommand(command), .zero)
        }
    }
}
