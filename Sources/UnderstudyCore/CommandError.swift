/// A command that fails with an error reply. Thrown by keyspace command handlers; effects
/// recorded before the throw (lazy deletion of expired keys) stay recorded and applied.
struct CommandError: Error {
    var reply: Reply

    init(_ message: String) { reply = .error(message) }

    static let syntax = CommandError("ERR syntax error")
    static let notAnInteger = CommandError("ERR value is not an integer or out of range")
    static let notAFloat = CommandError("ERR value is not a valid float")
    static let noSuchKey = CommandError("ERR no such key")
    static let stringTooLong = CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    static let wrongType = CommandError("WRONGTYPE Operation against a key holding the wrong kind of value")

    static func invalidExpireTime(_ commandName: String) -> CommandError {
        CommandError("ERR invalid expire time in '\(commandName)' command")
    }

    static func wrongNumberOfArguments(_ commandName: String) -> CommandError {
        CommandError("ERR wrong number of arguments for '\(commandName)' command")
    }
}
