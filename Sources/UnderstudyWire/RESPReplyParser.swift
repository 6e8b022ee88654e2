public import UnderstudyCore

/// Parses RESP2 replies (`+`, `-`, `:`, `$`, `*`) and RESP3 replies (`_`, `,`, `#`, `(`,
/// `=`, `!`, `%`, `~`, `>`; not attributes or streamed strings) from raw bytes into `Reply`s.
/// A pure value.
///
/// Resumable like `RESPCommandParser`: complete elements are consumed as they arrive and
/// arrays under construction are kept on an explicit stack, so a large reply spread over
/// many reads is parsed once, and deep nesting cannot overflow the call stack.
public struct RESPReplyParser: Sendable {
    public let limits: RESPLimits

    /// An aggregate (array, map, set or push) opened but not yet complete; a map's elements
    /// are its keys and values in turn.
    private struct PartialArray: Sendable {
        enum Kind: Sendable { case array, map, set, push }
        var kind: Kind
        var elements: [Reply]
        var expectedCount: Int
    }

    /// What the data of a pending bulk becomes.
    private enum BulkKind: Sendable { case bulk, verbatim, blobError }

    /// Aggregates opened but not yet complete, outermost first.
    private var openArrays: [PartialArray] = []
    /// The declared length of a bulk (`$`, `=`, `!`) whose length line was consumed but
    /// whose data was not.
    private var pendingBulkLength: Int?
    private var pendingBulkKind = BulkKind.bulk
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
                let data = Array(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]))
                value = try bulkValue(data)
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
            try expectBulk(length: length, kind: .bulk)
            return nil
        case UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let length = RESPBytes.parseDecimal(bytes, content), length >= 0 else {
                throw .invalidBulkLength
            }
            try expectBulk(length: length, kind: type == UInt8(ascii: "=") ? .verbatim : .blobError)
            return nil
        case UInt8(ascii: "*"):
            guard let count = RESPBytes.parseDecimal(bytes, content), count >= -1 else {
                throw .invalidMultibulkLength
            }
            if count == -1 { return .array(nil) }
            return try open(.array, count: count)
        case UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = RESPBytes.parseDecimal(bytes, content), count >= 0 else {
                throw .invalidMultibulkLength
            }
            let kind: PartialArray.Kind = type == UInt8(ascii: "%") ? .map : (type == UInt8(ascii: "~") ? .set : .push)
            return try open(kind, count: count)
        case UInt8(ascii: "_"):
            guard content.isEmpty else { throw .invalidReply("invalid null reply") }
            return .null
        case UInt8(ascii: "#"):
            let text = UnsafeRawBufferPointer(rebasing: bytes[content])
            guard text.count == 1, text[0] == UInt8(ascii: "t") || text[0] == UInt8(ascii: "f") else {
                throw .invalidReply("invalid boolean reply")
            }
            return .boolean(text[0] == UInt8(ascii: "t"))
        case UInt8(ascii: ","):
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[content]), as: UTF8.self)
            guard let value = Self.double(text) else { throw .invalidReply("invalid double reply") }
            return .double(value)
        case UInt8(ascii: "("):
            let text = UnsafeRawBufferPointer(rebasing: bytes[content])
            let digits = text.first == RESPBytes.minus ? text.dropFirst() : text[...]
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= RESPBytes.zero && $0 <= RESPBytes.nine }) else {
                throw .invalidReply("invalid big number reply")
            }
            return .bigNumber(String(decoding: text, as: UTF8.self))
        default:
            throw .invalidReply("unknown reply type '\(RESPProtocolError.printable(type))'")
        }
    }

    private mutating func expectBulk(length: Int64, kind: BulkKind) throws(RESPProtocolError) {
        guard length <= limits.maxBulkBytes else {
            throw .bulkTooLarge(Int(length), limit: limits.maxBulkBytes)
        }
        pendingBulkLength = Int(length)
        pendingBulkKind = kind
    }

    /// The reply a bulk's data makes: a bulk string, a verbatim string (`txt:` or `mkd:`
    /// first) or an error.
    private mutating func bulkValue(_ data: [UInt8]) throws(RESPProtocolError) -> Reply {
        switch pendingBulkKind {
        case .bulk:
            return .bulk(data)
        case .blobError:
            pendingBulkKind = .bulk
            return .error(String(decoding: data, as: UTF8.self))
        case .verbatim:
            pendingBulkKind = .bulk
            guard data.count >= 4, data[3] == UInt8(ascii: ":") else {
                throw .invalidReply("verbatim string without a format")
            }
            let format: Reply.VerbatimFormat
            switch String(decoding: data[0..<3], as: UTF8.self) {
            case "txt": format = .text
            case "mkd": format = .markdown
            default: throw .invalidReply("unknown verbatim string format")
            }
            return .verbatim(format, Array(data[4...]))
        }
    }

    /// Opens an aggregate of `count` elements (a map of `count` pairs); returns it at once
    /// if it is empty.
    private mutating func open(_ kind: PartialArray.Kind, count: Int64) throws(RESPProtocolError) -> Reply? {
        if count == 0 { return Self.aggregate(kind, []) }
        guard count <= limits.maxArguments else {  // first: `count * 2` cannot overflow after it
            throw .tooManyArguments(Int(count), limit: limits.maxArguments)
        }
        let elementCount = kind == .map ? count * 2 : count
        guard elementCount <= limits.maxArguments else {
            throw .tooManyArguments(Int(elementCount), limit: limits.maxArguments)
        }
        guard openArrays.count < limits.maxReplyNestingDepth else {
            throw .nestingTooDeep(limit: limits.maxReplyNestingDepth)
        }
        var elements: [Reply] = []
        elements.reserveCapacity(min(Int(elementCount), 1024))
        openArrays.append(PartialArray(kind: kind, elements: elements, expectedCount: Int(elementCount)))
        return nil
    }

    private static func aggregate(_ kind: PartialArray.Kind, _ elements: [Reply]) -> Reply {
        switch kind {
        case .array: return .array(elements)
        case .set: return .set(elements)
        case .push: return .push(elements)
        case .map:
            return .map(stride(from: 0, to: elements.count, by: 2).map { Reply.MapEntry(elements[$0], elements[$0 + 1]) })
        }
    }

    /// A RESP3 double's text: `inf`, `-inf`, `nan` or a decimal number.
    private static func double(_ text: String) -> Double? {
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        default:
            guard let first = text.utf8.first, first == RESPBytes.minus || (first >= RESPBytes.zero && first <= RESPBytes.nine)
                    || first == UInt8(ascii: ".") else { return nil }
            return Double(text)
        }
    }

    /// Adds `value` to the innermost open aggregate, closing every aggregate it completes.
    /// Returns the whole reply once the outermost value is complete.
    private mutating func complete(_ value: Reply) -> Reply? {
        var value = value
        while let last = openArrays.indices.last {
            openArrays[last].elements.append(value)
            guard openArrays[last].elements.count == openArrays[last].expectedCount else { return nil }
            let closed = openArrays.removeLast()
            value = Self.aggregate(closed.kind, closed.elements)
        }
        return value
    }
}
