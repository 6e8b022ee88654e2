/// Who may use a node's client port: the `default` user and named users, each with a
/// password and a permission (Redis 6 ACL style, reduced to what Understudy needs).
///
/// An empty table means no password is configured: every connection is authenticated as
/// `default` with read-write permission at once, as Redis with no `requirepass`.
public struct UserTable: Sendable, Equatable {
    public enum Permission: String, Sendable, Equatable {
        case readWrite = "read-write"
        case readOnly = "read-only"
    }

    public struct User: Sendable, Equatable {
        public var name: String
        public var password: [UInt8]
        public var permission: Permission

        public init(name: String, password: [UInt8], permission: Permission = .readWrite) {
            self.name = name
            self.password = password
            self.permission = permission
        }
    }

    /// The name `AUTH password` (one argument) authenticates as.
    public static let defaultUserName = "default"

    public private(set) var users: [String: User] = [:]

    public init() {}

    /// - Throws: `UserTableError` when a user is given twice.
    public init(users: [User]) throws(UserTableError) {
        for user in users {
            guard self.users[user.name] == nil else {
                throw UserTableError("user '\(user.name)' is defined twice")
            }
            self.users[user.name] = user
        }
    }

    /// Whether a connection must authenticate before running anything but the commands
    /// `AccessRule.allowedBeforeAuthentication` lists.
    public var requiresAuthentication: Bool { !users.isEmpty }

    /// The `default` user's password: what this node sends to authenticate its own
    /// connections to its peer (Redis's `masterauth`). Nil when there is none.
    public var defaultPassword: [UInt8]? { users[Self.defaultUserName]?.password }

    /// The user `username` names, if `password` is its password. Every byte of the
    /// password is compared, so the time taken does not tell how much of a guess was right.
    public func authenticate(username: String, password: [UInt8]) -> User? {
        guard let user = users[username] else { return nil }
        return Self.constantTimeEquals(user.password, password) ? user : nil
    }

    static func constantTimeEquals(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}

/// A password or users file that cannot be used, with the file and line at fault.
public struct UserTableError: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
