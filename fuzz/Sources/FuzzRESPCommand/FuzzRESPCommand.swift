import FuzzSupport
import UnderstudyCore
import UnderstudyWire

/// Client requests (multibulk and inline) through `RESPCommandParser`. Properties: no crash,
/// hang or unbounded allocation; the same commands whether the stream arrives whole or in
/// pieces; and every parsed command, written back as multibulk, parses to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPCommand(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    let whole = StreamFeeder.parseWholeAndInPieces(input, with: RESPCommandParser(), same: ==)
    for command in whole.messages {
        let again = parseCommands(multibulk(command.arguments), chunkBytes: Int.max)
        guard !again.failed, again.messages == [command] else {
            FuzzInput.fail("\(command.name) does not survive a multibulk round trip", input: input)
        }
    }
    return 0
}

private func parseCommands(_ stream: [UInt8], chunkBytes: Int) -> StreamFeeder<Command> {
    StreamFeeder.parse(stream, chunkBytes: chunkBytes, with: RESPCommandParser())
}

/// A request as every Redis client writes it.
private func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var bytes = Array("*\(arguments.count)\r\n".utf8)
    for argument in arguments {
        bytes += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
    }
    return bytes
}
