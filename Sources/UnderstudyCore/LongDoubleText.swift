#if (arch(x86_64) || arch(i386)) && !os(Windows) && !os(Android)
/// C's `long double` on this platform: Redis's INCRBYFLOAT computes in it.
typealias LongDouble = Float80
#else
/// Where Swift has no 80-bit float, INCRBYFLOAT computes in Double. The WAL logs the
/// resulting string, so replicas agree whatever their platform.
typealias LongDouble = Double
#endif

/// INCRBYFLOAT's number text, as Redis 7 reads and writes it.
enum LongDoubleText {
    /// Redis's `string2ld`: C's `strtold` must use the whole string (up to a NUL), with no
    /// leading space, no NaN, and no overflow or underflow to zero; at most 5119 bytes.
    static func parse(_ bytes: [UInt8]) -> LongDouble? {
        guard !bytes.isEmpty, bytes.count < 5 * 1024 else { return nil }
        let text = RedisNumber.cString(bytes)
        guard let first = text.first, !RedisNumber.isSpace(first) else { return nil }
        guard let value = LongDouble(String(decoding: text, as: UTF8.self)), !value.isNaN else { return nil }
        // strtold reports overflow to infinity and underflow to zero with ERANGE, which
        // Redis rejects; Swift returns the infinity or zero, so tell them apart here.
        if value.isInfinite && !spellsInfinity(text) { return nil }
        if value == 0 && hasNonzeroSignificand(text) { return nil }
        return value
    }

    private static func spellsInfinity(_ text: ArraySlice<UInt8>) -> Bool {
        let unsigned = text.drop { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
        let word = Array(unsigned.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 })
        return word == Array("inf".utf8) || word == Array("infinity".utf8)
    }

    /// Whether a digit before the exponent is nonzero (hex digits after `0x` included).
    private static func hasNonzeroSignificand(_ text: ArraySlice<UInt8>) -> Bool {
        let unsigned = Array(text.drop { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") })
        let isHex = unsigned.count > 1 && unsigned[0] == UInt8(ascii: "0") && (unsigned[1] | 0x20) == UInt8(ascii: "x")
        let digits = isHex ? unsigned.dropFirst(2) : unsigned[...]
        for byte in digits {
            let lower = byte | 0x20
            if lower == (isHex ? UInt8(ascii: "p") : UInt8(ascii: "e")) { break }
            if byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") { return true }
            if isHex && lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") { return true }
        }
        return false
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `printf("%.17Lf")`, rounded exactly
    /// (half to even on the exact binary value, as glibc does), trailing zeros and a
    /// trailing point removed, and `-0` printed as `0`. `value` MUST be finite.
    static func format<Value: BinaryFloatingPoint>(_ value: Value) -> String {
        precondition(value.isFinite, "INCRBYFLOAT never stores NaN or Infinity")
        let magnitude = value.magnitude
        guard magnitude != 0 else { return "0" }
        let significandBitCount = Value.significandBitCount
        var mantissa = UInt64(magnitude.significandBitPattern)
        var exponent: Int
        if magnitude.isNormal {
            mantissa |= 1 << UInt64(significandBitCount)
            exponent = Int(magnitude.exponent) - significandBitCount
        } else {
            exponent = Int(Value.leastNormalMagnitude.exponent) - significandBitCount
        }
        var text: String
        if exponent >= 0 {
            text = decimalString(of: mantissa, shiftedLeftBy: exponent)
        } else {
            text = fixedPointString(mantissa: mantissa, shiftedRightBy: -exponent)
        }
        if text == "0" { return "0" }
        if value.sign == .minus { text = "-" + text }
        return text
    }

    /// `mantissa / 2^shift` with 17 decimals, rounded half to even, trailing zeros trimmed.
    private static func fixedPointString(mantissa: UInt64, shiftedRightBy shift: Int) -> String {
        var integerPart = shift >= 64 ? 0 : mantissa >> UInt64(shift)
        let fraction = shift >= 64 ? mantissa : mantissa & ((1 << UInt64(shift)) - 1)
        let tenToThe17: UInt128 = 100_000_000_000_000_000
        let scaled = UInt128(fraction) * tenToThe17
        var digits = shift >= 128 ? 0 : scaled >> UInt128(shift)
        // Compare the discarded remainder with one half.
        let halfBitIsSet = shift - 1 < 128 && (scaled >> UInt128(shift - 1)) & 1 == 1
        let lowerBitsMask: UInt128 = shift - 1 >= 128 ? UInt128.max : (1 << UInt128(shift - 1)) - 1
        let lowerBitsAreSet = scaled & lowerBitsMask != 0
        if halfBitIsSet && (lowerBitsAreSet || digits & 1 == 1) { digits += 1 }
        if digits == tenToThe17 {
            digits = 0
            integerPart += 1
        }
        var text = String(integerPart)
        guard digits != 0 else { return text }
        var fractionText = String(digits)
        fractionText = String(repeating: "0", count: 17 - fractionText.count) + fractionText
        while fractionText.last == "0" { fractionText.removeLast() }
        text += "." + fractionText
        return text
    }

    /// The decimal digits of `mantissa * 2^shift`, with a schoolbook big integer.
    private static func decimalString(of mantissa: UInt64, shiftedLeftBy shift: Int) -> String {
        // Little-endian base-2^32 limbs.
        var limbs = [UInt32](repeating: 0, count: shift / 32)
        let wide = UInt128(mantissa) << UInt128(shift % 32)
        limbs.append(contentsOf: [UInt32(truncatingIfNeeded: wide), UInt32(truncatingIfNeeded: wide >> 32),
                                  UInt32(truncatingIfNeeded: wide >> 64)])
        while limbs.last == 0 { limbs.removeLast() }
        var chunks: [UInt32] = []  // base 10^9, least significant first
        while !limbs.isEmpty {
            var remainder: UInt64 = 0
            for index in stride(from: limbs.count - 1, through: 0, by: -1) {
                let current = remainder << 32 | UInt64(limbs[index])
                limbs[index] = UInt32(current / 1_000_000_000)
                remainder = current % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
            while limbs.last == 0 { limbs.removeLast() }
        }
        var text = String(chunks.last ?? 0)
        for chunk in chunks.dropLast().reversed() {
            let part = String(chunk)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return text
    }
}
