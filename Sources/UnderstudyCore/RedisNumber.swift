/// Number parsing and printing exactly as Redis 7 does it, for command arguments and for
/// string values used as numbers.
public enum RedisNumber {
    /// Redis's `string2ll`: an optional `-`, then `0` alone or digits without a leading
    /// zero; no `+`, no spaces, no `-0`, at most 20 bytes, within Int64.
    public static func parseInt64(_ bytes: [UInt8]) -> Int64? {
        bytes.withUnsafeBytes { parseInt64($0) }
    }

    /// `parseInt64` of bytes in place (a stored value, without copying it out).
    public static func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty, bytes.count < 21 else { return nil }
        if bytes.count == 1 && bytes[0] == UInt8(ascii: "0") { return 0 }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            index = 1
            guard index < bytes.count else { return nil }
        }
        guard bytes[index] >= UInt8(ascii: "1") && bytes[index] <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// SCAN's cursor: C's `strtoul(s, &end, 10)` where the whole string must be used and
    /// must not start with a space. So `""` is 0, `+5` is 5 and `-1` wraps to `UInt64.max`,
    /// as in Redis. Like C, only the bytes before a NUL count.
    static func parseCursor(_ bytes: [UInt8]) -> UInt64? {
        let text = cString(bytes)
        guard let first = text.first else { return 0 }
        guard !isSpace(first) else { return nil }
        var index = 0
        let negative = first == UInt8(ascii: "-")
        if negative || first == UInt8(ascii: "+") { index = 1 }
        guard index < text.count else { return nil }
        var value: UInt64 = 0
        while index < text.count {
            let byte = text[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return negative ? 0 &- value : value
    }

    /// The bytes a C function would see: everything before the first NUL.
    static func cString(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        if let end = bytes.firstIndex(of: 0) { return bytes[..<end] }
        return bytes[...]
    }

    /// C's `isspace` in the C locale.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 32 || (byte >= 9 && byte <= 13)
    }

    static func bytes(_ value: Int64) -> [UInt8] { Array(String(value).utf8) }
}
