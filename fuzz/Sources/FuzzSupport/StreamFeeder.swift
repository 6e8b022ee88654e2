import UnderstudyWire

/// Feeds a byte stream to a resumable parser the way its NIO decoder does: the caller's
/// buffer keeps what was not consumed, and new bytes are appended behind it.
public struct StreamFeeder<Message> {
    /// Everything parsed, in order, and whether the stream ended in an error.
    public var messages: [Message] = []
    public var failed = false

    public init() {}

    /// Runs `parse` over `stream` delivered `chunkBytes` at a time. `parse` returns how many
    /// bytes it consumed and the message it completed, if any; it throws on malformed input.
    /// Stops at the first error, as the connection would be closed. Bounded: every call
    /// either consumes, completes, or waits for the next chunk.
    public mutating func run(
        _ stream: [UInt8], chunkBytes: Int,
        parse: (UnsafeRawBufferPointer) throws -> (consumedBytes: Int, message: Message?)
    ) {
        var pending: [UInt8] = []
        var delivered = 0
        while delivered < stream.count {
            let next = delivered + min(max(chunkBytes, 1), stream.count - delivered)
            pending += stream[delivered..<next]
            delivered = next
            while true {
                let step: (consumedBytes: Int, message: Message?)
                do {
                    step = try pending.withUnsafeBytes { try parse($0) }
                } catch {
                    failed = true
                    return
                }
                precondition(step.consumedBytes >= 0 && step.consumedBytes <= pending.count, "parser consumed \(step.consumedBytes) of \(pending.count) bytes")
                pending.removeFirst(step.consumedBytes)
                if let message = step.message { messages.append(message) } else if step.consumedBytes == 0 { break }
            }
        }
    }

    /// The messages `Parser` reads from `stream` delivered `chunkBytes` at a time.
    public static func parse<Parser: RESPIncrementalParser>(
        _ stream: [UInt8], chunkBytes: Int, with parser: Parser
    ) -> StreamFeeder<Parser.Message> where Parser.Message == Message {
        var parser = parser
        var feeder = StreamFeeder<Message>()
        feeder.run(stream, chunkBytes: chunkBytes) { bytes in try parser.parseMessage(bytes) }
        return feeder
    }

    /// Parses `input` (its first byte choosing a read size, see `FuzzInput.chunked`) whole
    /// and in pieces, and fails the run unless both give the `same` messages (when neither
    /// ended in an error). Returns the whole parse.
    public static func parseWholeAndInPieces<Parser: RESPIncrementalParser>(
        _ input: [UInt8], with parser: Parser, same: ([Message], [Message]) -> Bool
    ) -> StreamFeeder<Message> where Parser.Message == Message {
        let (chunkBytes, stream) = FuzzInput.chunked(input)
        let whole = parse(stream, chunkBytes: max(stream.count, 1), with: parser)
        let pieces = parse(stream, chunkBytes: chunkBytes, with: parser)
        if !whole.failed && !pieces.failed && !same(whole.messages, pieces.messages) {
            FuzzInput.fail("\(Message.self) messages differ when read in \(chunkBytes)-byte pieces", input: input)
        }
        return whole
    }
}
