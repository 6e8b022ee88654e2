import Testing
@testable import UnderstudyCore

@Suite struct KeyspaceCountersTests {
    let notInteger = Reply.error("ERR value is not an integer or out of range")
    let overflow = Reply.error("ERR increment or decrement would overflow")

    @Test func incr_decr_family() {
        var h = KeyspaceHarness()
        #expect(h.run("INCR", "n") == .integer(1))
        #expect(h.lastEffects == [.set(key: bytes("n"), value: bytes("1"), expireAtMilliseconds: nil)])
        #expect(h.run("INCRBY", "n", "41") == .integer(42))
        #expect(h.run("DECR", "n") == .integer(41))
        #expect(h.run("DECRBY", "n", "-9") == .integer(50))
        #expect(h.run("INCRBY", "n", "-100") == .integer(-50))
        #expect(h.value("n") == "-50")
    }

    @Test func incr_keepsExpiry() {
        var h = KeyspaceHarness()
        h.run("SET", "n", "5", "PX", "1000")
        h.run("INCR", "n")
        #expect(h.lastEffects == [.set(key: bytes("n"), value: bytes("6"), expireAtMilliseconds: h.nowMilliseconds + 1000)])
    }

    @Test func incr_rejectsNonIntegers() {
        var h = KeyspaceHarness()
        for value in ["abc", "007", "-0", " 1", "1.5", "", "9223372036854775808"] {
            h.run("SET", "n", value)
            #expect(h.run("INCR", "n") == notInteger, "\(value)")
        }
        for increment in ["+1", "01", "-0", " 1", "x"] {
            #expect(h.run("INCRBY", "x", increment) == notInteger, "\(increment)")
            #expect(h.run("DECRBY", "x", increment) == notInteger, "\(increment)")
        }
        #expect(h.value("x") == nil)
    }

    @Test func incr_overflow_isReported() {
        var h = KeyspaceHarness()
        h.run("SET", "n", "9223372036854775807")
        #expect(h.run("INCR", "n") == overflow)
        #expect(h.lastEffects.isEmpty)
        h.run("SET", "n", "-9223372036854775808")
        #expect(h.run("DECR", "n") == overflow)
        #expect(h.run("INCRBY", "n", "-1") == overflow)
        #expect(h.run("DECRBY", "n", "-9223372036854775808") == .error("ERR decrement would overflow"))
        #expect(h.run("DECRBY", "x", "-9223372036854775808") == .error("ERR decrement would overflow"))
        #expect(h.run("INCRBY", "n", "9223372036854775807") == .integer(-1))
    }

    @Test func incrbyfloat_logsResultingValue_keepingExpiry() {
        var h = KeyspaceHarness()
        h.run("SET", "f", "10", "EX", "100")
        #expect(h.run("INCRBYFLOAT", "f", "10.5") == .bulk("20.5"))
        #expect(h.lastEffects == [.set(key: bytes("f"), value: bytes("20.5"), expireAtMilliseconds: h.nowMilliseconds + 100_000)])
        #expect(h.run("INCRBYFLOAT", "g", "5.0e3") == .bulk("5000"))
        h.run("SET", "h", "1.1")
        #expect(h.run("INCRBYFLOAT", "h", "3.0e3") == .bulk("3001.10000000000000009"))
    }

    @Test func incrbyfloat_errors_matchRedis() {
        var h = KeyspaceHarness()
        h.run("SET", "f", "1")
        #expect(h.run("INCRBYFLOAT", "f", "abc") == .error("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "f", "nan") == .error("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "f", "1e99999") == .error("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "f", "inf") == .error("ERR increment would produce NaN or Infinity"))
        #expect(h.run("INCRBYFLOAT", "f", "-Infinity") == .error("ERR increment would produce NaN or Infinity"))
        h.run("SET", "f", "abc")
        #expect(h.run("INCRBYFLOAT", "f", "1") == .error("ERR value is not a valid float"))
        #expect(h.lastEffects.isEmpty)
    }

    #if arch(x86_64)
    @Test func incrbyfloat_usesLongDoubleRange() {
        var h = KeyspaceHarness()
        #expect(h.run("INCRBYFLOAT", "f", "1e308") == h.run("INCRBYFLOAT", "g", "1e308"))
        // Redis on x86-64 (long double) accepts 2e308; a Double would overflow.
        #expect(h.run("INCRBYFLOAT", "f", "1e308") != .error("ERR increment would produce NaN or Infinity"))
        #expect(h.value("f")?.hasPrefix("199999999999999999993371759311691291321120199694831134415594095989843469737676") == true)
    }
    #endif
}
