/// Glob matching exactly like Redis 7's `stringmatchlen` (case-sensitive), used by KEYS
/// and SCAN MATCH: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), and `\`
/// to escape the next byte, inside or outside a class.
///
/// Redis's quirks are kept on purpose: an unterminated `[` class runs to the end of the
/// pattern, range bounds compare as C's signed `char`, and more than 1000 nested `*`
/// give up (no match) against abusive patterns.
public enum GlobPattern {
    static let maximumNesting = 1000

    public static func matches(_ pattern: [UInt8], _ string: [UInt8]) -> Bool {
        var skipLongerMatches = false
        return match(pattern, from: 0, string, from: 0, skipLongerMatches: &skipLongerMatches, nesting: 0)
    }

    private static func match(
        _ pattern: [UInt8], from patternStart: Int,
        _ string: [UInt8], from stringStart: Int,
        skipLongerMatches: inout Bool, nesting: Int
    ) -> Bool {
        if nesting > maximumNesting { return false }
        // C reads the pattern's NUL terminator at its end; so do we.
        func byte(_ index: Int) -> UInt8 { index < pattern.count ? pattern[index] : 0 }
        var p = patternStart
        var s = stringStart
        while p < pattern.count && s < string.count {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p < pattern.count && byte(p + 1) == UInt8(ascii: "*") { p += 1 }
                if p == pattern.count - 1 { return true }
                while s < string.count {
                    if match(pattern, from: p + 1, string, from: s,
                             skipLongerMatches: &skipLongerMatches, nesting: nesting + 1) {
                        return true
                    }
                    if skipLongerMatches { return false }
                    s += 1
                }
                // No suffix match from anywhere: longer matches of an earlier `*` can't help.
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                s += 1
            case UInt8(ascii: "["):
                p += 1
                let (matched, end) = matchClass(pattern, from: p, byte: string[s])
                guard matched else { return false }
                p = end
                s += 1
            case UInt8(ascii: "\\"):
                if pattern.count - p >= 2 { p += 1 }
                guard pattern[p] == string[s] else { return false }
                s += 1
            default:
                guard pattern[p] == string[s] else { return false }
                s += 1
            }
            p += 1
            if s == string.count {
                while byte(p) == UInt8(ascii: "*") { p += 1 }
                break
            }
        }
        return p == pattern.count && s == string.count
    }

    /// Matches `character` against the class starting after `[` at `start`; returns
    /// whether it matched and the index of the class's closing `]` (or last byte).
    private static func matchClass(_ pattern: [UInt8], from start: Int, byte character: UInt8) -> (Bool, Int) {
        func byte(_ index: Int) -> UInt8 { index < pattern.count ? pattern[index] : 0 }
        var p = start
        let negated = byte(p) == UInt8(ascii: "^")
        if negated { p += 1 }
        var matched = false
        while true {
            let remaining = pattern.count - p
            if byte(p) == UInt8(ascii: "\\") && remaining >= 2 {
                p += 1
                if pattern[p] == character { matched = true }
            } else if byte(p) == UInt8(ascii: "]") {
                break
            } else if remaining == 0 {
                p -= 1
                break
            } else if remaining >= 3 && pattern[p + 1] == UInt8(ascii: "-") {
                var low = signedChar(pattern[p])
                var high = signedChar(pattern[p + 2])
                if low > high { swap(&low, &high) }
                let value = signedChar(character)
                p += 2
                if value >= low && value <= high { matched = true }
            } else if pattern[p] == character {
                matched = true
            }
            p += 1
        }
        return (matched != negated, p)
    }

    private static func signedChar(_ byte: UInt8) -> Int { Int(Int8(bitPattern: byte)) }
}
