import Testing
@testable import UnderstudyCore

@Suite struct UserTableTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func passwordFile_firstNonBlankLine_withoutSurroundingWhitespace() throws {
        #expect(try UserTable.password(fromPasswordFile: "\n  \n  s3cret \t\r\nignored\n", path: "/p") == bytes("s3cret"))
        #expect(try UserTable.password(fromPasswordFile: "s3cret\n", path: "/p") == bytes("s3cret"))
    }

    @Test func emptyPasswordFile_isRefusedNamingTheFile() {
        #expect(throws: UserTableError("password file /etc/pw: it is empty (its first non-blank line is the default user's password)")) {
            try UserTable.password(fromPasswordFile: " \n\n", path: "/etc/pw")
        }
    }

    @Test func usersFile_readsUsersPermissionsAndSkipsComments() throws {
        let text = """
            # who may connect
            alice  pa55  read-write

            bob\twordy read-only
            carol c
            """
        let users = try UserTable.users(fromUsersFile: text, path: "/u")
        #expect(users == [
            UserTable.User(name: "alice", password: bytes("pa55"), permission: .readWrite),
            UserTable.User(name: "bob", password: bytes("wordy"), permission: .readOnly),
            UserTable.User(name: "carol", password: bytes("c"), permission: .readWrite),
        ])
    }

    @Test(arguments: [
        ("alice\n", "users file /u: line 1: expected 'username password [read-write|read-only]', got 1 word(s)"),
        ("# c\nalice pw admin\n", "users file /u: line 2: unknown permission 'admin' (read-write or read-only)"),
        ("alice a\n\nalice b\n", "users file /u: line 3: user 'alice' was already defined on line 1"),
        ("a b c d\n", "users file /u: line 1: expected 'username password [read-write|read-only]', got 4 word(s)"),
    ])
    func badUsersFile_isRefusedNamingFileAndLine(text: String, message: String) {
        #expect(throws: UserTableError(message)) { try UserTable.users(fromUsersFile: text, path: "/u") }
    }

    @Test func passwordFileAndDefaultUserInUsersFile_conflict() {
        let users = [UserTable.User(name: "default", password: [1])]
        #expect(throws: UserTableError.self) {
            try UserTable.combining(defaultPassword: [2], users: users, usersFilePath: "/u")
        }
    }

    @Test func authenticate_needsTheRightPairOnly() throws {
        let table = try UserTable.combining(
            defaultPassword: bytes("top"), users: [UserTable.User(name: "ro", password: bytes("r"), permission: .readOnly)],
            usersFilePath: nil)
        #expect(table.requiresAuthentication)
        #expect(table.defaultPassword == bytes("top"))
        #expect(table.authenticate(username: "default", password: bytes("top"))?.permission == .readWrite)
        #expect(table.authenticate(username: "ro", password: bytes("r"))?.permission == .readOnly)
        #expect(table.authenticate(username: "default", password: bytes("to")) == nil)
        #expect(table.authenticate(username: "default", password: bytes("topp")) == nil)
        #expect(table.authenticate(username: "ro", password: bytes("top")) == nil)
        #expect(table.authenticate(username: "nobody", password: bytes("top")) == nil)
    }

    @Test func emptyTable_requiresNoAuthentication() {
        #expect(!UserTable().requiresAuthentication)
        #expect(UserTable().defaultPassword == nil)
    }
}
