public import UnderstudyCore

/// Parses RESP2 replies (`+`, `-`, `:`, `$`, `*`) from raw bytes into `Reply`s. A pure value.
///
/// Resumable like `RESPCommandParser`: complete elements are consumed as they arrive and
/// arrays under construction are kept on an explicit stack, so a large reply spread over
/// many reads is parsed once, and deep nesting cannot overflow the call stack.
public struct RESPReplyParser: Sendable {
    public let limits: RESPLimits

    private struct PartialArray: Sendable {
        var elements: [Reply]
        var expectedCount: Int
    }

    /// Arrays opened but not yet complete, outermost first.
    private var openArrays: [PartialArray] = []
    /// The declared length of a bulk whose `$N` line was consumed but whose data was not.
    private var pendingBulkLength: Int?
    private var scannedLineBytes = 0

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Forgets any partial reply.
    public mutating func reset() {
        self = RESPReplyParser(limits: limits)
    }

    /// Parses from the start of `bytes` until one reply is complete or more bytes are needed.
    ///
    /// The caller MUST drop the first `consumedBytes` bytes and pass the rest, followed by newly
    /// received bytes, to the next call; after an error it MUST NOT call `parse` again.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer
    ) throws(RESPProtocolError) -> (consumedBytes: Int, reply: Reply?) {
        var position = 0
        while true {
            let value: Reply
            if let length = pendingBulkLength {
                guard bytes.count - position >= length + 2 else { return (position, nil) }
                guard
                    bytes[position + length] == RESPBytes.carriageReturn,
                    bytes[position + length + 1] == RESPBytes.lineFeed
                else { throw .missingLineTerminator }
                value = .bulk(Array(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])))
                position += length + 2
                pendingBulkLength = nil
            } else {
                guard position < bytes.count else { return (position, nil) }
                guard
                    let line = try RESPBytes.findTypedLine(
                        in: bytes, from: position, scannedBytes: &scannedLineBytes,
                        maxLineBytes: limits.maxInlineBytes,
                        tooLong: .inlineTooLong, malformed: .invalidReply("expected CRLF at the end of a line")
                    )
                else { return (position, nil) }
                let type = bytes[position]
                position = line.end
                guard let lineValue = try parseLine(type: type, bytes, line.content) else { continue }
                value = lineValue
            }
            if let reply = complete(value) { return (position, reply) }
        }
    }

    /// Interprets one line. Returns its reply, or `nil` if it opened a bulk or an array.
    private mutating func parseLine(
        type: UInt8,
        _ bytes: UnsafeRawBufferPointer,
        _ content: Range<Int>
    ) throws(RESPProtocolError) -> Reply? {
        switch type {
        case UInt8(ascii: "+"):
            return .simple(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[content]), as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[content]), as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let value = RESPBytes.parseDecimal(bytes, content) else {
                throw .invalidReply("invalid integer reply")
            }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = RESPBytes.parseDecimal(bytes, content), length >= -1 else {
                throw .invalidBulkLength
            }
            if length == -1 { return .bulk(nil) }
            guard length <= limits.maxBulkBytes else {
                throw .bulkTooLarge(Int(length), limit: limits.maxBulkBytes)
            }
            pendingBulkLength = Int(length)
            return nil
        case UInt8(ascii: "*"):
            guard let count = RESPBytes.parseDecimal(bytes, content), count >= -1 else {
                throw .invalidMultibulkLength
            }
            if count == -1 { return .array(nil) }
            if count == 0 { return .array([]) }
            guard count <= limits.maxArguments else {
                throw .tooManyArguments(Int(count), limit: limits.maxArguments)
            }
            guard openArrays.count < limits.maxReplyNestingDepth else {
                throw .nestingTooDeep(limit: limits.maxReplyNestingDepth)
            }
            var elements: [Reply] = []
            elements.reserveCapacity(min(Int(count), 1024))
            openArrays.append(PartialArray(elements: elements, expectedCount: Int(count)))
            return nil
        default:
            throw .invalidReply("unknown reply type '\(RESPProtocolError.printable(type))'")
        }
    }

    /// Adds `value` to the innermost open array, closing every array it completes. Returns
    /// the whole reply once the outermost value is complete.
    private mutating func complete(_ value: Reply) -> Reply? {
        var value = value
        while let last = openArrays.indices.last {
            openArrays[last].elements.append(value)
            guard openArrays[last].elements.count == openArrays[last].expectedCount else { return nil }
            value = .array(openArrays.removeLast().elements)
        }
        return value
    }
}
