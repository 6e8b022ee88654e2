/// `IDEMPOTENT <key> <command> [arguments…]`: runs a write command at most once per key.
extension Keyspace {
    /// Runs the wrapped write command unless `key` already ran one: then its stored reply,
    /// with no effect (the shell holds it behind the log like any reply, so a repeat that
    /// arrives while the first is still being made durable waits for it). The same key with
    /// another command or other arguments is an error. The `.remember` effect goes into the
    /// same record as the command's effects: they survive, or are lost, together.
    mutating func idempotent(_ context: inout ExecutionContext, random: inout some RandomNumberGenerator) throws(CommandError) -> Reply {
        let key = context.arguments[1]
        let wrapped = context.arguments[2...]
        let name = String(decoding: wrapped.first!.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
        guard let spec = CommandTable.spec(named: name), spec.handler == .keyspace, spec.isWrite, name != "idempotent" else {
            throw CommandError("ERR IDEMPOTENT wraps one write command, and '\(name.prefix(64))' is not one")
        }
        guard spec.accepts(argumentCount: wrapped.count) else { throw CommandError.wrongNumberOfArguments(name) }
        let fingerprint = IdempotencyTable.fingerprint(of: wrapped)
        if let entry = idempotency.entry(for: key) {
            guard entry.fingerprint == fingerprint else {
                throw CommandError("ERR IDEMPOTENT key was already used for another command or other arguments")
            }
            return entry.reply
        }
        var inner = ExecutionContext(arguments: Array(wrapped), nowMilliseconds: context.nowMilliseconds)
        let reply: Reply
        do {
            reply = try dispatch(name, &inner, random: &random)
        } catch {
            reply = error.reply
        }
        context.effects += inner.effects
        record(.remember(key: key, fingerprint: fingerprint, reply: reply, atMilliseconds: context.nowMilliseconds), in: &context)
        return reply
    }
}
