/// Canonical unsigned decimal text, as used in the `REPLICATE` handshake and the text form
/// of an epoch history: ASCII digits only, no sign, no leading zero (except "0" itself), no
/// whitespace, no overflow. One spelling per number keeps peers' logs comparable and
/// leaves hostile input nothing to play with.
public enum DecimalText {
    /// The longest canonical `UInt64` ("18446744073709551615").
    static let maximumDigits = 20

    /// Parses `digits` as a canonical decimal `UInt64`; nil when it is anything else.
    public static func parse(_ digits: some Collection<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= maximumDigits else { return nil }
        if digits.count > 1, digits.first == UInt8(ascii: "0") { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowShift, !overflowAdd else { return nil }
            value = sum
        }
        return value
    }

    /// The canonical text of `value`, as bytes.
    public static func bytes(_ value: UInt64) -> [UInt8] {
        Array(String(value).utf8)
    }
}
