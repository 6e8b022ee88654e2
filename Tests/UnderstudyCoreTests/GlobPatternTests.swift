import Testing
@testable import UnderstudyCore

@Suite struct GlobPatternTests {
    static let keys = [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo", "a-b", "b", "]", "^", "\\",
        "ab", "abc", "x", "-", "aaa", "foo:bar", "h\\llo",
    ]

    /// Expected matches recorded from Redis 7.0.15's KEYS over `keys`.
    static let cases: [(pattern: String, matches: Set<String>)] = [
        ("h?llo", ["h*llo", "h?llo", "h\\llo", "hallo", "hello", "hxllo"]),
        ("h*llo", ["h*llo", "h?llo", "h[a]llo", "h\\llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]),
        ("h[ae]llo", ["hallo", "hello"]),
        ("h[^e]llo", ["h*llo", "h?llo", "h\\llo", "hallo", "hxllo"]),
        ("h[a-b]llo", ["hallo"]),
        ("h[b-a]llo", ["hallo"]),
        ("h\\*llo", ["h*llo"]),
        ("h\\?llo", ["h?llo"]),
        ("[", []),
        ("[^", ["-", "\\", "]", "^", "b", "x"]),
        ("[]]", []),
        ("[\\]]", ["]"]),
        ("a[", []),
        ("[a-", ["-"]),
        ("[z-a]", ["b", "x"]),
        ("**b", ["a-b", "ab", "b"]),
        ("a*c", ["abc"]),
        ("*[", []),
        ("\\", ["\\"]),
        ("h\\\\llo", ["h\\llo"]),
        ("[\\\\]", ["\\"]),
        ("[-]", ["-"]),
        ("[a-]", ["]", "^"]),
        ("*a*a*", ["aaa"]),
        ("a?", ["ab"]),
        ("?", ["-", "\\", "]", "^", "b", "x"]),
        ("[^a]", ["-", "\\", "]", "^", "b", "x"]),
        ("x*", ["x"]),
        ("foo:*", ["foo:bar"]),
    ]

    @Test(arguments: cases.indices)
    func matches_likeRedisKeys(caseIndex: Int) {
        let (pattern, expected) = Self.cases[caseIndex]
        let matched = Set(Self.keys.filter { GlobPattern.matches(bytes(pattern), bytes($0)) })
        #expect(matched == expected, "pattern \(pattern)")
    }

    @Test func star_doesNotMatchEmptyString_butEmptyPatternDoes() {
        #expect(!GlobPattern.matches(bytes("*"), []))
        #expect(GlobPattern.matches([], []))
        #expect(!GlobPattern.matches([], bytes("a")))
    }

    @Test func rangeBounds_compareAsSignedChar() {
        // [a-\xff]: 0xff is -1 as a C char, so the range is -1...97 and covers "]" but not "b".
        let pattern = [UInt8(ascii: "["), UInt8(ascii: "a"), UInt8(ascii: "-"), 0xFF, UInt8(ascii: "]")]
        #expect(GlobPattern.matches(pattern, bytes("]")))
        #expect(!GlobPattern.matches(pattern, bytes("b")))
        #expect(!GlobPattern.matches(pattern, [0x80]))
    }

    @Test func pathologicalPattern_finishesQuickly() {
        let pattern = bytes(String(repeating: "a*", count: 40) + "b")
        let string = bytes(String(repeating: "a", count: 200))
        #expect(!GlobPattern.matches(pattern, string))
    }

    @Test func moreThanThousandNestedStars_giveUp() {
        let pattern = bytes(String(repeating: "*a", count: 1002))
        let string = bytes(String(repeating: "a", count: 1002))
        #expect(!GlobPattern.matches(pattern, string))
        let shorter = bytes(String(repeating: "*a", count: 900))
        #expect(GlobPattern.matches(shorter, bytes(String(repeating: "a", count: 900))))
    }
}
