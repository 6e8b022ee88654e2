import Testing
import UnderstudyCore
@testable import UnderstudyServer

/// `HELLO` read as Redis 7.0 reads it.
@Suite struct HelloRequestTests {
    private func parse(_ words: String...) -> Result<HelloRequest, RefusedHello> {
        HelloRequest.parse(words.map { Array($0.utf8) })
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func noVersion_keepsTheProtocol() {
        #expect(parse("HELLO") == .success(HelloRequest(protocolVersion: nil)))
    }

    @Test func versions2And3_areKnown() {
        #expect(parse("HELLO", "2") == .success(HelloRequest(protocolVersion: .resp2)))
        #expect(parse("HELLO", "3") == .success(HelloRequest(protocolVersion: .resp3)))
    }

    @Test(arguments: ["1", "4", "0", "-1", "9223372036854775807", "-9223372036854775808"])
    func otherIntegers_areNOPROTO(version: String) {
        #expect(parse("HELLO", version) == .failure(RefusedHello(reply: .error("NOPROTO unsupported protocol version"))))
    }

    @Test(arguments: ["x", "3.0", "03", "+3", " 3", "", "9223372036854775808", "SETNAME"])
    func nonIntegers_areRefusedAsRedisDoes(version: String) {
        #expect(parse("HELLO", version)
            == .failure(RefusedHello(reply: .error("ERR Protocol version is not an integer or out of range"))))
    }

    @Test func options_inOrder_caseInsensitive() {
        let expected = HelloRequest(protocolVersion: .resp3, options: [
            .auth(username: bytes("default"), password: bytes("pw")), .setName(bytes("w1")), .setName(bytes("w2")),
        ])
        #expect(parse("HELLO", "3", "auth", "default", "pw", "SetName", "w1", "SETNAME", "w2") == .success(expected))
    }

    @Test func aMalformedOption_endsTheOptions_withItsError() {
        #expect(parse("HELLO", "3", "SETNAME", "a", "BOGUS", "SETNAME", "b") == .success(HelloRequest(
            protocolVersion: .resp3, options: [.setName(bytes("a"))],
            error: .error("ERR Syntax error in HELLO option 'BOGUS'"))))
        #expect(parse("HELLO", "2", "AUTH", "user") == .success(HelloRequest(
            protocolVersion: .resp2, error: .error("ERR Syntax error in HELLO option 'AUTH'"))))
        #expect(parse("HELLO", "2", "SETNAME") == .success(HelloRequest(
            protocolVersion: .resp2, error: .error("ERR Syntax error in HELLO option 'SETNAME'"))))
        #expect(parse("HELLO", "3", "SETNAME", "a b") == .success(HelloRequest(
            protocolVersion: .resp3, error: .error("ERR Client names cannot contain spaces, newlines or special characters."))))
    }

}
