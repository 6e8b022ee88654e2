public import UnderstudyCore

/// Parses client requests, multibulk (`*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n`) or inline
/// (`ECHO hi\r\n`), from raw bytes into `Command`s. A pure value: no I/O, no NIO.
///
/// The parser is resumable: every complete element (a length line, a bulk) is consumed and
/// kept as it arrives, so a request spread over many reads is parsed once, not again from its
/// start on every read. Each declared length is checked against `limits` before its data is
/// waited for.
///
/// As Redis does, it ignores empty inline lines, `*0` and `*-1`. It is stricter than Redis in
/// two places: bulk data MUST be followed by CRLF (Redis skips two bytes unchecked), and a
/// negative multibulk length other than `*-1` is an error (Redis ignores it).
public struct RESPCommandParser: Sendable {
    public let limits: RESPLimits

    private enum State: Sendable {
        /// Between requests: the next byte starts a `*N` line or an inline line.
        case requestStart
        /// Inside a multibulk request: the next byte MUST start a `$N` line.
        case bulkLength
        /// Inside a multibulk request: the next `length` bytes and CRLF are an argument.
        case bulkData(length: Int)
    }

    private var state = State.requestStart
    /// The arguments of the multibulk request being parsed.
    private var arguments: [[UInt8]] = []
    private var remainingArguments = 0
    /// Bytes of the multibulk request being parsed: consumed, plus the declared data of a
    /// pending bulk. Compared against `limits.maxRequestBytes`.
    private var requestBytes = 0
    /// How far the incomplete line at the start of the input was already searched.
    private var scannedLineBytes = 0

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Whether a partial request has been consumed, so that more bytes are needed to finish
    /// it. Bytes of an incomplete line are never consumed: they stay in the caller's input.
    public var isInsideRequest: Bool {
        if case .requestStart = state { return false }
        return true
    }

    /// Forgets any partial request, as after a fresh connection.
    public mutating func reset() {
        self = RESPCommandParser(limits: limits)
    }

    /// Parses from the start of `bytes` until one command is complete or more bytes are needed.
    ///
    /// The caller MUST drop the first `consumedBytes` bytes and pass the rest, followed by newly
    /// received bytes, to the next call. After an error the stream cannot be resynchronised:
    /// the caller MUST NOT call `parse` again.
    ///
    /// - Returns: how many bytes were consumed (possibly some even without a command), and the
    ///   command, if one was completed.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer
    ) throws(RESPProtocolError) -> (consumedBytes: Int, command: Command?) {
        var position = 0
        while position < bytes.count {
            switch state {
            case .requestStart:
                if bytes[position] == UInt8(ascii: "*") {
                    guard let end = try parseArgumentCount(bytes, from: position) else {
                        return (position, nil)
                    }
                    position = end
                } else {
                    guard let (end, inlineArguments) = try parseInline(bytes, from: position) else {
                        return (position, nil)
                    }
                    position = end
                    if !inlineArguments.isEmpty {
                        return (position, Command(arguments: inlineArguments))
                    }
                }
            case .bulkLength:
                guard let end = try parseBulkLength(bytes, from: position) else {
                    return (position, nil)
                }
                position = end
            case .bulkData(let length):
                guard bytes.count - position >= length + 2 else { return (position, nil) }
                guard
                    bytes[position + length] == RESPBytes.carriageReturn,
                    bytes[position + length + 1] == RESPBytes.lineFeed
                else { throw .missingLineTerminator }
                arguments.append(Array(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])))
                position += length + 2
                remainingArguments -= 1
                if remainingArguments == 0 {
                    let command = Command(arguments: arguments)
                    arguments = []
                    requestBytes = 0
                    state = .requestStart
                    return (position, command)
                }
                state = .bulkLength
            }
        }
        return (position, nil)
    }

    /// Parses `*N\r\n` at `start`. Returns the index after it, or `nil` if incomplete.
    private mutating func parseArgumentCount(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int
    ) throws(RESPProtocolError) -> Int? {
        guard
            let line = try RESPBytes.findTypedLine(
                in: bytes, from: start, scannedBytes: &scannedLineBytes,
                maxLineBytes: limits.maxInlineBytes,
                tooLong: .multibulkLengthLineTooLong, malformed: .invalidMultibulkLength
            )
        else { return nil }
        guard let count = RESPBytes.parseDecimal(bytes, line.content), count <= Int32.max else {
            throw .invalidMultibulkLength
        }
        if count == 0 || count == -1 { return line.end }  // ignored, as Redis does
        guard count > 0 else { throw .invalidMultibulkLength }
        guard count <= limits.maxArguments else {
            throw .tooManyArguments(Int(count), limit: limits.maxArguments)
        }
        // Reserve for what is likely to arrive, not for what was announced.
        arguments.reserveCapacity(min(Int(count), 1024))
        remainingArguments = Int(count)
        requestBytes = line.end - start
        state = .bulkLength
        return line.end
    }

    /// Parses `$N\r\n` at `start`. Returns the index after it, or `nil` if incomplete.
    private mutating func parseBulkLength(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int
    ) throws(RESPProtocolError) -> Int? {
        guard bytes[start] == UInt8(ascii: "$") else {
            throw .unexpectedByte(bytes[start], expected: "$")
        }
        guard
            let line = try RESPBytes.findTypedLine(
                in: bytes, from: start, scannedBytes: &scannedLineBytes,
                maxLineBytes: limits.maxInlineBytes,
                tooLong: .bulkLengthLineTooLong, malformed: .invalidBulkLength
            )
        else { return nil }
        guard let declared = RESPBytes.parseDecimal(bytes, line.content), declared >= 0 else {
            throw .invalidBulkLength
        }
        guard declared <= limits.maxBulkBytes else {
            throw .bulkTooLarge(Int(declared), limit: limits.maxBulkBytes)
        }
        let length = Int(declared)
        // No overflow: every term is bounded by a limit, and limits by RESPLimits.largestLimit.
        let newRequestBytes = requestBytes + (line.end - start) + length + 2
        guard newRequestBytes <= limits.maxRequestBytes else {
            throw .requestTooLarge(newRequestBytes, limit: limits.maxRequestBytes)
        }
        requestBytes = newRequestBytes
        state = .bulkData(length: length)
        return line.end
    }

    /// Parses an inline line at `start`, terminated by LF or CRLF. Returns the index after it
    /// and its arguments (none for an empty line), or `nil` if incomplete.
    private mutating func parseInline(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int
    ) throws(RESPProtocolError) -> (end: Int, arguments: [[UInt8]])? {
        let maxLineBytes = limits.maxInlineBytes
        var index = start + scannedLineBytes
        // One byte more than the limit may be the CR of a CRLF.
        let searchEnd = min(bytes.count, start + maxLineBytes + 2)
        while index < searchEnd && bytes[index] != RESPBytes.lineFeed {
            index += 1
        }
        guard index < searchEnd else {
            let pendingBytes = searchEnd - start
            let lastIsCarriageReturn = bytes[searchEnd - 1] == RESPBytes.carriageReturn
            if pendingBytes - (lastIsCarriageReturn ? 1 : 0) > maxLineBytes { throw .inlineTooLong }
            scannedLineBytes = pendingBytes
            return nil
        }
        scannedLineBytes = 0
        var contentEnd = index
        if contentEnd > start && bytes[contentEnd - 1] == RESPBytes.carriageReturn { contentEnd -= 1 }
        guard contentEnd - start <= maxLineBytes else { throw .inlineTooLong }
        let inlineArguments = try RESPInlineSplitter.split(
            UnsafeRawBufferPointer(rebasing: bytes[start..<contentEnd])
        )
        guard inlineArguments.count <= limits.maxArguments else {
            throw .tooManyArguments(inlineArguments.count, limit: limits.maxArguments)
        }
        return (index + 1, inlineArguments)
    }
}
