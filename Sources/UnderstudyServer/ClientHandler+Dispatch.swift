import UnderstudyCore

extension ClientHandler {
    /// Looks a command up, checks its arity and hands it to whoever executes it.
    /// Returns the reply and the LSN it depends on (`.zero` for replies that reveal no data).
    /// Counts it under its name and result, with the time it took to execute (not the wait
    /// for durability: that is `understudy_wal_fsync_duration_seconds` and the standby's lag).
    func dispatch(_ command: Command) -> (Reply, LSN) {
        let startedNanoseconds = WallClock.monotonicNanoseconds()
        // One lookup by name serves the spec and the metric series.
        let index = CommandTable.index(named: command.name)
        let (reply, requiredLSN) = execute(command, spec: index.map { CommandTable.all[$0] })
        engine.metrics.command(at: index).record(
            Self.result(of: reply), durationNanoseconds: WallClock.monotonicNanoseconds() - startedNanoseconds)
        return (reply, requiredLSN)
    }

    private func execute(_ command: Command, spec: CommandSpec?) -> (Reply, LSN) {
        guard let spec else {
            return (CommandTable.unknownCommandReply(for: command), .zero)
        }
        guard spec.accepts(argumentCount: command.arguments.count) else {
            return (CommandTable.wrongNumberOfArgumentsReply(for: spec.name), .zero)
        }
        session.lastCommandName = spec.name
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

    /// The `result` label: the error codes that say "not executed, retry elsewhere or later"
    /// (invariant 8) are refusals; any other error is the command's own.
    static func result(of reply: Reply) -> CommandResult {
        guard case .error(let message) = reply else { return .ok }
        for code in Self.refusalCodes where message.hasPrefix(code) { return .refused }
        return .error
    }

    private static let refusalCodes = ["TRYAGAIN", "READONLY", "NOREPLICAS", "LOADING", "BUSY", "ERR write refused"]
}
