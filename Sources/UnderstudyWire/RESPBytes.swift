/// Byte-level helpers shared by the RESP parsers. They read raw buffers so that the hot path
/// never builds a `String`.
enum RESPBytes {
    static let carriageReturn = UInt8(ascii: "\r")
    static let lineFeed = UInt8(ascii: "\n")
    static let minus = UInt8(ascii: "-")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    /// A CRLF-terminated line found in a buffer.
    struct Line {
        /// The line's content: after `start`'s type byte (if any was skipped) up to the CR.
        var content: Range<Int>
        /// The index just after the LF: where the next element starts.
        var end: Int
    }

    /// Finds the CRLF-terminated line that starts at `start`.
    ///
    /// `scannedBytes` remembers how much of an incomplete line was already searched, so that a
    /// line arriving in many small reads is searched once in total: it MUST be 0 for a new
    /// line, is updated when more data is needed, and is reset to 0 when a line is found.
    ///
    /// - Returns: the line, with `content` starting at `start + 1` (after the type byte), or
    ///   `nil` if the line is incomplete.
    /// - Throws: `tooLong` if the line (type byte included, CRLF excluded) is longer than
    ///   `maxLineBytes`, complete or not; `malformed` if the CR is not followed by LF.
    static func findTypedLine(
        in bytes: UnsafeRawBufferPointer,
        from start: Int,
        scannedBytes: inout Int,
        maxLineBytes: Int,
        tooLong: RESPProtocolError,
        malformed: RESPProtocolError
    ) throws(RESPProtocolError) -> Line? {
        // The type byte is never the line's CR: a CR there is an unknown type, not an empty line.
        var index = start + max(scannedBytes, 1)
        let searchEnd = min(bytes.count, start + maxLineBytes + 1)
        while index < searchEnd && bytes[index] != carriageReturn {
            index += 1
        }
        guard index < searchEnd else {
            if searchEnd - start > maxLineBytes { throw tooLong }
            scannedBytes = index - start
            return nil
        }
        guard index + 1 < bytes.count else {
            scannedBytes = index - start
            return nil
        }
        guard bytes[index + 1] == lineFeed else { throw malformed }
        scannedBytes = 0
        return Line(content: (start + 1)..<index, end: index + 2)
    }

    /// Parses a decimal integer exactly as Redis's `string2ll` does: an optional `-`, then
    /// digits without a leading zero (except `0` itself), no `+`, no spaces, no `-0`, and
    /// within `Int64`.
    static func parseDecimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        guard index < range.upperBound else { return nil }
        if range.count == 1 && bytes[index] == zero { return 0 }
        let isNegative = bytes[index] == minus
        if isNegative { index += 1 }
        guard index < range.upperBound, bytes[index] > zero, bytes[index] <= nine else { return nil }
        // Accumulate negatively so that Int64.min parses too.
        var value: Int64 = 0
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte >= zero && byte <= nine else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(byte &- zero))
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index += 1
        }
        if isNegative { return value }
        guard value != .min else { return nil }
        return -value
    }
}
