import Testing
@testable import UnderstudyCore

@Suite struct BasicAuthorizationTests {
    @Test func decodesUserAndPassword() throws {
        // base64("alice:pa:ss") — the password may contain a colon.
        let credentials = try #require(BasicAuthorization.credentials(fromHeader: "Basic YWxpY2U6cGE6c3M="))
        #expect(credentials.username == "alice")
        #expect(credentials.password == Array("pa:ss".utf8))
        #expect(BasicAuthorization.credentials(fromHeader: "Basic OnB3")?.username == "default")  // ":pw"
    }

    @Test func rejectsOtherSchemesAndBadBase64() {
        #expect(BasicAuthorization.credentials(fromHeader: "Bearer abc") == nil)
        #expect(BasicAuthorization.credentials(fromHeader: "Basic !!!") == nil)
        #expect(BasicAuthorization.credentials(fromHeader: "Basic YWxpY2U=") == nil)  // "alice": no colon
    }

    @Test func authorizes_onlyTheRightPair_whenAPasswordIsSet() throws {
        let users = try UserTable(users: [UserTable.User(name: "default", password: Array("pw".utf8))])
        #expect(BasicAuthorization.authorizes(header: "Basic ZGVmYXVsdDpwdw==", users: users))  // default:pw
        #expect(!BasicAuthorization.authorizes(header: "Basic ZGVmYXVsdDp4", users: users))  // default:x
        #expect(!BasicAuthorization.authorizes(header: nil, users: users))
        #expect(BasicAuthorization.authorizes(header: nil, users: UserTable()))
    }
}
