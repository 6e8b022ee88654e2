import FuzzSupport
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Replies, RESP2 and RESP3, through `RESPReplyParser` (the client's and the witness
/// link's reader). Properties: no crash, hang or unbounded allocation; the same replies
/// whole or in pieces; and every parsed reply, written by the server's RESP3 encoder,
/// parses back to a reply that encodes to the same bytes (bytes, not `==`: a NaN double
/// is never equal to itself).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPReply(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    let whole = StreamFeeder.parseWholeAndInPieces(input, with: RESPReplyParser()) { encoded($0) == encoded($1) }
    for reply in whole.messages {
        let bytes = encoded([reply])
        let again = parseReplies(bytes, chunkBytes: Int.max)
        guard !again.failed, again.messages.count == 1, encoded(again.messages) == bytes else {
            FuzzInput.fail("a reply does not survive a RESP3 round trip: \(String(decoding: bytes.prefix(200), as: UTF8.self))", input: input)
        }
    }
    return 0
}

private func parseReplies(_ stream: [UInt8], chunkBytes: Int) -> StreamFeeder<Reply> {
    StreamFeeder.parse(stream, chunkBytes: chunkBytes, with: RESPReplyParser())
}

private func encoded(_ replies: [Reply]) -> [UInt8] {
    var buffer = ByteBuffer()
    for reply in replies { buffer.writeRESPReply(reply, protocol: .resp3) }
    return Array(buffer.readableBytesView)
}
