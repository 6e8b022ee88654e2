import Testing
@testable import UnderstudyCore

@Suite struct LongDoubleTextTests {
    /// (stored value or nil, increment, Redis 7.0.15's reply on x86-64).
    static let incrementCases: [(start: String?, increment: String, expected: String)] = [
        ("10", "10.5", "20.5"),
        ("10", "5.0e3", "5010"),
        ("1.1", "3.0e3", "3001.10000000000000009"),
        ("0.1", "0.2", "0.3"),
        (nil, "1e20", "100000000000000000000"),
        (nil, "1e-20", "0"),
        (nil, "1.5e21", "1500000000000000000000"),
        (nil, "-0", "0"),
        (nil, "0x10", "16"),
        (nil, "3.14159265358979323846", "3.14159265358979324"),
        (nil, "123456789012345678901234567890", "123456789012345678899921813504"),
        (nil, "1e-400", "0"),
        (nil, ".5", "0.5"),
        (nil, "5.", "5"),
        (nil, "+5", "5"),
        (nil, "1e17", "100000000000000000"),
        (nil, "0.00001", "0.00001"),
        (nil, "-1.5", "-1.5"),
        (nil, "4.9e-324", "0"),
        (nil, "1e308", "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048"),
        (nil, "1.7976931348623157e308", "179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384"),
    ]

    #if arch(x86_64)
    @Test(arguments: incrementCases.indices)
    func incrbyfloat_formatsLikeRedis(caseIndex: Int) throws {
        let (start, increment, expected) = Self.incrementCases[caseIndex]
        let startValue = try #require(LongDoubleText.parse(bytes(start ?? "0")))
        let incrementValue = try #require(LongDoubleText.parse(bytes(increment)))
        #expect(LongDoubleText.format(startValue + incrementValue) == expected)
    }

    @Test func format_roundsHalfToEvenOnTheExactValue() {
        // 2^-18 = 0.000003814697265625 exactly: 17 decimals keep ...6972656, then "25" < half.
        #expect(LongDoubleText.format(Float80(1) / 262_144) == "0.00000381469726562")
        // 2^-57 * 5 = 3.46944695195361418882e-17: rounds to 0.00000000000000003.
        #expect(LongDoubleText.format(Float80(5) / Float80(sign: .plus, exponent: 57, significand: 1)) == "0.00000000000000003")
        // 0.999999999999999999995 rounds up into the integer part.
        #expect(LongDoubleText.format(Float80(1) - Float80(sign: .plus, exponent: -63, significand: 1)) == "1")
        #expect(LongDoubleText.format(-Float80(1) / 3) == "-0.33333333333333333")
        #expect(LongDoubleText.format(Float80.greatestFiniteMagnitude).count == 4933)
        #expect(LongDoubleText.format(-Float80.leastNonzeroMagnitude) == "0")
    }
    #endif

    @Test func format_worksForDoubleToo() {
        #expect(LongDoubleText.format(20.5) == "20.5")
        #expect(LongDoubleText.format(0.1 as Double) == "0.10000000000000001")
        #expect(LongDoubleText.format(1e20 as Double) == "100000000000000000000")
        #expect(LongDoubleText.format(-0.0 as Double) == "0")
        #expect(LongDoubleText.format(-2.5e-18 as Double) == "0")
        #expect(LongDoubleText.format(Double(Int64.max)) == "9223372036854775808")
    }

    @Test(arguments: ["abc", "nan", "NaN", " 1", "1 ", "", "1e99999", "-1e99999", "1,5", "0x",
                      "1e-99999", "-1e-99999", "0x1p-99999", "infinit"])
    func parse_rejectsWhatRedisRejects(text: String) {
        #expect(LongDoubleText.parse(bytes(text)) == nil)
    }

    @Test func parse_acceptsInfinityAndStopsAtNul() {
        #expect(LongDoubleText.parse(bytes("inf"))?.isInfinite == true)
        #expect(LongDoubleText.parse(bytes("-infinity"))?.isInfinite == true)
        #expect(LongDoubleText.parse(bytes("INF"))?.isInfinite == true)
        #expect(LongDoubleText.parse(bytes("0e99999")) == 0)
        #expect(LongDoubleText.parse(bytes("0.0e-99999")) == 0)
        #expect(LongDoubleText.parse(bytes("0x0p-99999")) == 0)
        #expect(LongDoubleText.parse([UInt8(ascii: "2"), 0, UInt8(ascii: "x")]) == 2)
        #expect(LongDoubleText.parse([UInt8](repeating: UInt8(ascii: "1"), count: 5120)) == nil)
    }
}
