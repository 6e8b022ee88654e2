/// Splits an inline command line (`SET "a key" 'it\'s'`) into arguments with the quoting rules
/// of Redis's `sdssplitargs`, so that `redis-cli`-style input and telnet sessions behave as
/// they do against Redis.
///
/// - Outside quotes, arguments are separated by space, tab, CR or LF; leading whitespace
///   (also vertical tab and form feed) is skipped. A quote may start inside an argument:
///   `a"b c"` is the one argument `ab c`.
/// - In double quotes: `\xHH` (two hex digits), `\n`, `\r`, `\t`, `\b`, `\a`, and `\` before
///   any other byte stands for that byte (`\"`, `\\`).
/// - In single quotes everything is literal except `\'`.
/// - A closing quote MUST be followed by whitespace or the end of the line, and every opened
///   quote MUST be closed, or the line is rejected with "unbalanced quotes".
///
/// Unlike `sdssplitargs`, which reads a C string, a NUL byte is ordinary data.
enum RESPInlineSplitter {
    static func split(_ line: UnsafeRawBufferPointer) throws(RESPProtocolError) -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        var index = 0
        while true {
            while index < line.count && isSkippedSpace(line[index]) { index += 1 }
            guard index < line.count else { return arguments }
            arguments.append(try splitArgument(line, from: &index))
        }
    }

    private enum Mode { case unquoted, doubleQuoted, singleQuoted }

    /// Reads one argument starting at `index` (a non-space byte) and leaves `index` after it.
    private static func splitArgument(
        _ line: UnsafeRawBufferPointer,
        from index: inout Int
    ) throws(RESPProtocolError) -> [UInt8] {
        var argument: [UInt8] = []
        var mode = Mode.unquoted
        while true {
            guard index < line.count else {
                if mode == .unquoted { return argument }
                throw .unbalancedQuotes
            }
            let byte = line[index]
            index += 1
            switch mode {
            case .unquoted:
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    return argument
                case UInt8(ascii: "\""): mode = .doubleQuoted
                case UInt8(ascii: "'"): mode = .singleQuoted
                default: argument.append(byte)
                }
            case .doubleQuoted:
                if byte == UInt8(ascii: "\\") && index < line.count {
                    argument.append(unescape(line, at: &index))
                } else if byte == UInt8(ascii: "\"") {
                    try expectEndOfArgument(line, at: index)
                    return argument
                } else {
                    argument.append(byte)
                }
            case .singleQuoted:
                if byte == UInt8(ascii: "\\") && index < line.count && line[index] == UInt8(ascii: "'") {
                    argument.append(UInt8(ascii: "'"))
                    index += 1
                } else if byte == UInt8(ascii: "'") {
                    try expectEndOfArgument(line, at: index)
                    return argument
                } else {
                    argument.append(byte)
                }
            }
        }
    }

    /// Decodes the escape whose backslash was just read; `index` is at the byte after it.
    private static func unescape(_ line: UnsafeRawBufferPointer, at index: inout Int) -> UInt8 {
        let escaped = line[index]
        if escaped == UInt8(ascii: "x"), index + 2 < line.count,
            let high = hexValue(line[index + 1]), let low = hexValue(line[index + 2])
        {
            index += 3
            return high << 4 | low
        }
        index += 1
        switch escaped {
        case UInt8(ascii: "n"): return UInt8(ascii: "\n")
        case UInt8(ascii: "r"): return UInt8(ascii: "\r")
        case UInt8(ascii: "t"): return UInt8(ascii: "\t")
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "a"): return 0x07
        default: return escaped
        }
    }

    private static func expectEndOfArgument(
        _ line: UnsafeRawBufferPointer,
        at index: Int
    ) throws(RESPProtocolError) {
        if index < line.count && !isSkippedSpace(line[index]) { throw .unbalancedQuotes }
    }

    /// C's `isspace`: space, \t, \n, \v, \f, \r.
    private static func isSkippedSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
