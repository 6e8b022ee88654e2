import UnderstudyCore
import UnderstudyClient
import UnderstudyServer

/// What an operator command learns from one process: its `INFO` fields, in order.
struct NodeInfo {
    let address: ListenAddress
    let fields: [(String, String)]

    /// A field's value; nil when absent or empty.
    subscript(_ name: String) -> String? {
        fields.last { $0.0 == name }.flatMap { $0.1.isEmpty ? nil : $0.1 }
    }

    /// The node's role as the cluster sees it: `primary`, `standby`, `undecided` or `witness`.
    var role: String {
        if self["role"] == "witness" { return "witness" }
        return self["understudy_role"] ?? (self["role"] == "master" ? "primary" : "standby")
    }

    /// `INFO <section>` (or plain `INFO`) from `address`.
    /// - Parameter password: sent as `AUTH` first (nil: none; the witness takes none).
    static func fetch(_ address: ListenAddress, section: String?, timeoutMilliseconds: Int64, tls: ClientTLS?,
                      password: String? = nil, username: String? = nil) async throws -> NodeInfo {
        let command = section.map { Command("INFO", $0) } ?? Command("INFO")
        let replies = try await NodeRequest.send([command], to: address, timeoutMilliseconds: timeoutMilliseconds, tls: tls,
                                                 password: password, username: username)
        if case .error(let message)? = replies.first, message.hasPrefix("NOAUTH") {
            throw ExitMessage("\(address) requires a password (\(message)): give --password-file FILE or set UNDERSTUDY_PASSWORD")
        }
        guard case .bulk(let bytes?)? = replies.first else {
            throw ExitMessage("\(address) answered INFO with \(String(describing: replies.first))")
        }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .filter { !$0.hasPrefix("#") }
            .compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...]))
            }
        return NodeInfo(address: address, fields: fields)
    }

    /// Parses `--nodes HOST:PORT,HOST:PORT`.
    static func addresses(_ list: String) -> [ListenAddress] {
        list.split(separator: ",").compactMap { ListenAddress(parsing: String($0.filter { $0 != " " })) }
    }
}
