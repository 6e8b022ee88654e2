import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Test input written as text, with its bytes exactly as written.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// `Array.withUnsafeBytes` keeping the closure's typed error (the standard library's version
/// rethrows `any Error`).
func withBytes<Result>(
    _ array: [UInt8],
    _ body: (UnsafeRawBufferPointer) throws(RESPProtocolError) -> Result
) throws(RESPProtocolError) -> Result {
    try array.withUnsafeBytes { bytes in
        Swift.Result { () throws(RESPProtocolError) -> Result in try body(bytes) }
    }.get()
}

/// Feeds `input` to a fresh `RESPCommandParser` in chunks of `chunkSize` bytes, keeping the
/// unconsumed bytes as a decoder's cumulation buffer would, and returns every command parsed.
func parseCommands(
    _ input: [UInt8],
    limits: RESPLimits = .default,
    chunkSize: Int = Int.max
) throws(RESPProtocolError) -> (commands: [Command], unconsumed: [UInt8]) {
    var parser = RESPCommandParser(limits: limits)
    var pending: [UInt8] = []
    var commands: [Command] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + min(chunkSize, input.count - offset))
        pending += input[offset..<end]
        offset = end
        while true {
            let (consumedBytes, command) = try withBytes(pending) { bytes throws(RESPProtocolError) in try parser.parse(bytes) }
            pending.removeFirst(consumedBytes)
            guard let command else { break }
            commands.append(command)
        }
    }
    return (commands, pending)
}

func parseCommands(
    _ input: String,
    limits: RESPLimits = .default,
    chunkSize: Int = Int.max
) throws(RESPProtocolError) -> [Command] {
    try parseCommands(bytes(input), limits: limits, chunkSize: chunkSize).commands
}

/// The error that parsing `input` whole throws, after checking that feeding it byte by byte
/// throws the same one: the outcome MUST NOT depend on how the input was split into reads.
func parseError(_ input: [UInt8], limits: RESPLimits = .default) -> RESPProtocolError? {
    func error(chunkSize: Int) -> RESPProtocolError? {
        do {
            _ = try parseCommands(input, limits: limits, chunkSize: chunkSize)
            return nil
        } catch {
            return error
        }
    }
    let whole = error(chunkSize: Int.max)
    let byteByByte = error(chunkSize: 1)
    return whole == byteByByte ? whole : RESPProtocolError(
        code: whole?.code ?? byteByByte!.code,
        message: "whole: \(whole?.message ?? "no error"); byte by byte: \(byteByByte?.message ?? "no error")"
    )
}

func parseError(_ input: String, limits: RESPLimits = .default) -> String? {
    parseError(bytes(input), limits: limits)?.message
}

/// Feeds `input` to a fresh `RESPReplyParser` in chunks, as `parseCommands` does.
func parseReplies(
    _ input: [UInt8],
    limits: RESPLimits = .default,
    chunkSize: Int = Int.max
) throws(RESPProtocolError) -> [Reply] {
    var parser = RESPReplyParser(limits: limits)
    var pending: [UInt8] = []
    var replies: [Reply] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + min(chunkSize, input.count - offset))
        pending += input[offset..<end]
        offset = end
        while true {
            let (consumedBytes, reply) = try withBytes(pending) { bytes throws(RESPProtocolError) in try parser.parse(bytes) }
            pending.removeFirst(consumedBytes)
            guard let reply else { break }
            replies.append(reply)
        }
    }
    return replies
}

/// The error that parsing `input` as replies throws, whole and byte by byte alike.
func replyParseError(_ input: [UInt8], limits: RESPLimits = .default) -> String? {
    func error(chunkSize: Int) -> String? {
        do {
            _ = try parseReplies(input, limits: limits, chunkSize: chunkSize)
            return nil
        } catch {
            return error.message
        }
    }
    let whole = error(chunkSize: Int.max)
    let byteByByte = error(chunkSize: 1)
    return whole == byteByByte ? whole : "whole: \(whole ?? "no error"); byte by byte: \(byteByByte ?? "no error")"
}

func replyParseError(_ input: String, limits: RESPLimits = .default) -> String? {
    replyParseError(bytes(input), limits: limits)
}

func encoded(_ reply: Reply) -> String {
    var buffer = ByteBuffer()
    buffer.writeRESPReply(reply)
    return String(buffer: buffer)
}

func encoded(_ reply: Reply, protocol version: ProtocolVersion) -> String {
    var buffer = ByteBuffer()
    buffer.writeRESPReply(reply, protocol: version)
    return String(buffer: buffer)
}

func encoded(_ command: Command) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeRESPCommand(command)
    return Array(buffer.readableBytesView)
}
