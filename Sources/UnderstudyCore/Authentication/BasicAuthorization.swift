/// HTTP Basic authentication (RFC 7617) for the admin port's `POST /switchover`: the
/// `Authorization: Basic base64(user:password)` header, read without Foundation.
public enum BasicAuthorization {
    /// The user and password in an `Authorization` header value; nil when it is not Basic
    /// or not valid base64 with a colon. A header without a user (`:password`) is the
    /// `default` user, as `AUTH password`.
    public static func credentials(fromHeader value: String) -> (username: String, password: [UInt8])? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = base64Decoded(Array(parts[1].utf8)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let username = String(decoding: decoded[..<colon], as: UTF8.self)
        return (username.isEmpty ? UserTable.defaultUserName : username, Array(decoded[(colon + 1)...]))
    }

    /// Whether the header names a user of `users` with its password. Always true when no
    /// password is configured (the port is then as open as the client port).
    public static func authorizes(header: String?, users: UserTable) -> Bool {
        guard users.requiresAuthentication else { return true }
        guard let header, let (username, password) = credentials(fromHeader: header) else { return false }
        return users.authenticate(username: username, password: password) != nil
    }

    static func base64Decoded(_ text: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text where byte != UInt8(ascii: "=") {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}
