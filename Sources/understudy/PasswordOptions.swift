import ArgumentParser
import Foundation
import UnderstudyCore

/// `--password-file` for the operator commands (`status`, `switchover`, `promote`, `drain`,
/// `local`): the password they send as `AUTH` first. `UNDERSTUDY_PASSWORD` gives it too;
/// never a bare `--password`, which `ps` would show.
struct PasswordOptions: ParsableArguments {
    @Option(help: "A file whose first non-blank line is the nodes' password (the 'default' user's). Also UNDERSTUDY_PASSWORD.")
    var passwordFile: String?

    @Option(help: "The user the password belongs to (default: 'default').")
    var user: String?

    /// The password to send, from the file or the environment; nil: none.
    func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let passwordFile {
            let bytes = try SecretFiles.password(path: passwordFile)
            return String(decoding: bytes, as: UTF8.self)
        }
        return environment["UNDERSTUDY_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Reading password and users files: their text, and a warning when others may read them.
enum SecretFiles {
    /// The `default` user's password from `path` (`UserTable.password(fromPasswordFile:)`).
    static func password(path: String) throws -> [UInt8] {
        do {
            return try UserTable.password(fromPasswordFile: try text(path: path), path: path)
        } catch let error as UserTableError {
            throw ValidationError(error.message)
        }
    }

    static func text(path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// A warning if the file may be read by its group or by anyone (Redis does not check;
    /// refusing would break setups where a secret manager mounts files 0644).
    static func permissionWarning(path: String) -> String? {
        let permissions: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            guard let value = attributes[.posixPermissions] as? Int else { return nil }
            permissions = value
        } catch {
            return "cannot read the permissions of \(path): \(error.localizedDescription)"
        }
        guard permissions & 0o077 != 0 else { return nil }
        return "\(path) can be read by its group or by anyone (mode \(String(permissions, radix: 8))): chmod 600 it"
    }

    /// The server's user table from its three sources (at most one of the password file and
    /// the password key), and a warning per file others may read.
    static func userTable(passwordFile: String?, password: String?, usersFile: String?) throws -> (UserTable, [String]) {
        var warnings: [String] = []
        var defaultPassword: [UInt8]?
        if let passwordFile {
            defaultPassword = try Self.password(path: passwordFile)
            warnings += permissionWarning(path: passwordFile).map { [$0] } ?? []
        } else if let password {
            guard !password.isEmpty else { throw ValidationError("the password (config key 'password' or UNDERSTUDY_PASSWORD) is empty") }
            defaultPassword = Array(password.utf8)
        }
        var users: [UserTable.User] = []
        if let usersFile {
            do {
                users = try UserTable.users(fromUsersFile: try text(path: usersFile), path: usersFile)
            } catch let error as UserTableError {
                throw ValidationError(error.message)
            }
            warnings += permissionWarning(path: usersFile).map { [$0] } ?? []
        }
        do {
            return (try UserTable.combining(defaultPassword: defaultPassword, users: users, usersFilePath: usersFile), warnings)
        } catch {
            throw ValidationError(error.message)
        }
    }
}
