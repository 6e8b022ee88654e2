import Testing
@testable import UnderstudyCore

@Suite struct RedisNumberTests {
    @Test func parseInt64_acceptsString2llForms() {
        #expect(RedisNumber.parseInt64(bytes("0")) == 0)
        #expect(RedisNumber.parseInt64(bytes("-1")) == -1)
        #expect(RedisNumber.parseInt64(bytes("9223372036854775807")) == Int64.max)
        #expect(RedisNumber.parseInt64(bytes("-9223372036854775808")) == Int64.min)
        #expect(RedisNumber.parseInt64(bytes("1234")) == 1234)
    }

    @Test(arguments: ["", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "9223372036854775808",
                      "-9223372036854775809", "18446744073709551616", "00", "abc", "1e3", "000000000000000000001"])
    func parseInt64_rejectsWhatRedisRejects(text: String) {
        #expect(RedisNumber.parseInt64(bytes(text)) == nil)
    }

    @Test func parseCursor_followsStrtoul() {
        #expect(RedisNumber.parseCursor(bytes("")) == 0)
        #expect(RedisNumber.parseCursor(bytes("0")) == 0)
        #expect(RedisNumber.parseCursor(bytes("+7")) == 7)
        #expect(RedisNumber.parseCursor(bytes("-1")) == UInt64.max)
        #expect(RedisNumber.parseCursor(bytes("18446744073709551615")) == UInt64.max)
        #expect(RedisNumber.parseCursor(bytes("18446744073709551616")) == nil)
        #expect(RedisNumber.parseCursor(bytes(" 0")) == nil)
        #expect(RedisNumber.parseCursor(bytes("0 ")) == nil)
        #expect(RedisNumber.parseCursor(bytes("abc")) == nil)
        #expect(RedisNumber.parseCursor(bytes("-")) == nil)
        #expect(RedisNumber.parseCursor([UInt8(ascii: "5"), 0, UInt8(ascii: "x")]) == 5)
    }
}
