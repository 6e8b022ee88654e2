/// Reading `--password-file` and `--users-file` (the text only: the shell reads the file).
extension UserTable {
    /// A password file's password: its first line that is not blank, without the
    /// whitespace around it (a trailing newline from `echo` must not become part of it).
    /// - Throws: when the file has no such line.
    public static func password(fromPasswordFile text: String, path: String) throws(UserTableError) -> [UInt8] {
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let password = trimmed(line)
            if !password.isEmpty { return Array(password.utf8) }
        }
        throw UserTableError("password file \(path): it is empty (its first non-blank line is the default user's password)")
    }

    /// A users file: one user a line, `username password [read-write|read-only]`
    /// (read-write when omitted); blank lines and lines starting with `#` are ignored.
    /// A password cannot contain whitespace (the words are split on it).
    /// - Throws: naming the file and the line of the first problem.
    public static func users(fromUsersFile text: String, path: String) throws(UserTableError) -> [User] {
        var users: [User] = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = index + 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let context = "users file \(path): line \(lineNumber)"
            guard words.count == 2 || words.count == 3 else {
                throw UserTableError("\(context): expected 'username password [read-write|read-only]', got \(words.count) word(s)")
            }
            var permission = Permission.readWrite
            if words.count == 3 {
                guard let named = Permission(rawValue: words[2]) else {
                    throw UserTableError("\(context): unknown permission '\(words[2])' (read-write or read-only)")
                }
                permission = named
            }
            if let earlier = seen[words[0]] {
                throw UserTableError("\(context): user '\(words[0])' was already defined on line \(earlier)")
            }
            seen[words[0]] = lineNumber
            users.append(User(name: words[0], password: Array(words[1].utf8), permission: permission))
        }
        return users
    }

    /// The table from a password file's password (the `default` user, read-write) and a
    /// users file's users; either may be absent.
    public static func combining(defaultPassword: [UInt8]?, users: [User], usersFilePath: String?) throws(UserTableError) -> UserTable {
        var all = users
        if let defaultPassword {
            if users.contains(where: { $0.name == defaultUserName }) {
                throw UserTableError(
                    "users file \(usersFilePath ?? "?"): defines the 'default' user, whose password is already given by the password file or UNDERSTUDY_PASSWORD: keep one")
            }
            all.insert(User(name: defaultUserName, password: defaultPassword), at: 0)
        }
        return try UserTable(users: all)
    }

    private static func trimmed(_ line: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = line.firstIndex(where: { !isSpace($0) }),
              let last = line.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(line[first...last])
    }
}
