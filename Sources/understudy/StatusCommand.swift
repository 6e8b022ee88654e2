import ArgumentParser
import UnderstudyClient
import UnderstudyCore
import UnderstudyServer

/// `understudy status`: what each node (and the witness) says about the cluster, from their
/// `INFO replication` (the witness's `INFO`), as a table or JSON.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each node's role, epoch, log position, lag, sync state, lease, last promotion and lost-write report."
    )

    @Option(help: "The data nodes' addresses, HOST:PORT,HOST:PORT.")
    var nodes: String

    @Option(help: "The witness's address, HOST:PORT (optional).")
    var witness: ListenAddress?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "How long to wait for each process (e.g. 2s).")
    var timeout: String = "2s"

    @Option(help: "How many of each node's recent events to show (its EVENTS command; 0: none).")
    var events: Int = 10

    @OptionGroup(title: "TLS")
    var tlsOptions: TLSClientOptions

    @OptionGroup(title: "Authentication")
    var passwordOptions: PasswordOptions

    func validate() throws {
        guard !addresses.isEmpty else { throw ValidationError("--nodes needs at least one HOST:PORT") }
        guard DurationText.milliseconds(timeout) != nil else { throw ValidationError("--timeout must be a duration such as 2s") }
    }

    private var addresses: [ListenAddress] { NodeInfo.addresses(nodes) }

    func run() async throws {
        let timeoutMilliseconds = DurationText.milliseconds(timeout) ?? 2_000
        let tls = try tlsOptions.clientTLS()
        let credentials = (password: try passwordOptions.password(), user: passwordOptions.user)
        var reports: [(name: String, fields: [(String, String)]?, error: String?)] = []
        for address in addresses {
            reports.append(await Self.info(address, section: "replication", timeoutMilliseconds: timeoutMilliseconds, tls: tls,
                                           credentials: credentials))
        }
        if let witness {
            reports.append(await Self.info(witness, section: nil, timeoutMilliseconds: timeoutMilliseconds, tls: tls, credentials: (nil, nil)))
        }
        var recent: [(name: String, lines: [String])] = []
        for address in addresses where events > 0 {
            recent.append(("\(address)", await Self.recentEvents(address, count: events, timeoutMilliseconds: timeoutMilliseconds,
                                                                  tls: tls, credentials: credentials)))
        }
        if json {
            print(Self.json(reports, events: recent))
            return
        }
        print(Self.table(reports))
        for node in recent where !node.lines.isEmpty {
            print("\nrecent events of \(node.name) (oldest first):")
            node.lines.forEach { print("  \(Self.eventLine($0))") }
        }
    }

    /// `EVENTS <count>`: one JSON object per event; if the node cannot say, one object with
    /// kind `unavailable` and the reason (the table also shows an unreachable node).
    private static func recentEvents(_ address: ListenAddress, count: Int, timeoutMilliseconds: Int64, tls: ClientTLS?,
                                     credentials: Credentials) async -> [String] {
        let replies: [Reply]
        do {
            replies = try await NodeRequest.send([Command("EVENTS", "\(count)")], to: address, timeoutMilliseconds: timeoutMilliseconds,
                                                tls: tls, password: credentials.password, username: credentials.user)
        } catch {
            return [JSONText.object([("kind", .string("unavailable")), ("reason", .string("\(error)"))]).text]
        }
        guard case .array(let items?)? = replies.first else {
            return [JSONText.object([("kind", .string("unavailable")), ("reason", .string("EVENTS answered \(String(describing: replies.first))"))]).text]
        }
        return items.compactMap { item in
            if case .bulk(let bytes?) = item { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
    }

    /// `kind (epoch N): reason` from an event's JSON, for the table view.
    private static func eventLine(_ json: String) -> String {
        func field(_ name: String) -> String? {
            guard let key = json.firstRange(of: "\"\(name)\":") else { return nil }
            let rest = json[key.upperBound...]
            if rest.first == "\"" {
                var value = ""
                var escaped = false
                for character in rest.dropFirst() {
                    if escaped { value.append(character); escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { break } else { value.append(character) }
                }
                return value
            }
            return String(rest.prefix { $0 != "," && $0 != "}" })
        }
        return "#\(field("sequence") ?? "?") \(field("kind") ?? "?") (epoch \(field("epoch") ?? "-")): \(field("reason") ?? "")"
    }

    /// The password and user sent as `AUTH` first (the witness: none).
    typealias Credentials = (password: String?, user: String?)

    private static func info(_ address: ListenAddress, section: String?, timeoutMilliseconds: Int64, tls: ClientTLS?,
                             credentials: Credentials) async -> (name: String, fields: [(String, String)]?, error: String?)
    {
        do {
            let info = try await NodeInfo.fetch(address, section: section, timeoutMilliseconds: timeoutMilliseconds, tls: tls,
                                                password: credentials.password, username: credentials.user)
            return ("\(address)", info.fields, nil)
        } catch {
            return ("\(address)", nil, "\(error)")
        }
    }

    private static func table(_ reports: [(name: String, fields: [(String, String)]?, error: String?)]) -> String {
        var rows = [["NODE", "ROLE", "EPOCH", "LAST LSN", "LAG", "SYNC", "LEASE", "LINK"]]
        var notes: [String] = []
        for report in reports {
            guard let list = report.fields else {
                let needsPassword = report.error?.contains("requires a password") == true
                rows.append([report.name, needsPassword ? "auth required" : "unreachable", "-", "-", "-", "-", "-", "-"])
                notes.append("\(report.name): \(report.error ?? "no answer")")
                continue
            }
            let fields = Dictionary(list, uniquingKeysWith: { _, last in last })
            func field(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }
            if field("role") == "witness" {
                rows.append([report.name, "witness", field("epoch") ?? "-", "-", "-",
                             field("standby_in_sync").map { $0 == "1" ? "in sync" : "not in sync" } ?? "-",
                             field("promise_remaining_ms").map { "promise \($0)ms" } ?? "-", "-"])
                notes.append("\(report.name): primary \(field("primary") ?? "-"), standby \(field("standby") ?? "-"), mode \(field("mode") ?? "-")")
                continue
            }
            let role = field("understudy_role") ?? (field("role") == "master" ? "primary" : "standby")
            let lsn = field("master_repl_offset") ?? field("slave_repl_offset") ?? "-"
            let lag = field("understudy_lag_lsns").map { "\($0) lsn / \(field("understudy_lag_milliseconds") ?? "0") ms" } ?? "-"
            let sync = field("understudy_standby_in_sync").map { $0 == "1" ? "in sync" : "alone" }
                ?? field("understudy_sync_state") ?? "-"
            let lease = field("understudy_lease_remaining_ms").map { "\($0)ms" } ?? "-"
            let link = field("understudy_link_state") ?? field("connected_slaves").map { "\($0) standby" } ?? "-"
            rows.append([report.name, role, field("understudy_known_epoch") ?? field("understudy_epoch") ?? "-", lsn, lag, sync, lease, link])
            if let epoch = field("understudy_last_promotion_epoch") {
                notes.append("\(report.name): promoted to primary of epoch \(epoch) \(field("understudy_last_promotion_seconds_ago") ?? "?") s ago; vote asked → promoted \(field("understudy_last_promotion_vote_to_promoted_ms") ?? "?") ms, promoted → first write \(field("understudy_last_promotion_promoted_to_first_write_ms") ?? "?") ms")
            }
            if let records = field("understudy_rewind_records") {
                notes.append("\(report.name): LOST WRITES — \(records) records (LSN \(field("understudy_rewind_first_lsn") ?? "?")–\(field("understudy_rewind_last_lsn") ?? "?")) cut off on rejoin, kept in \(field("understudy_rewind_file") ?? "?")")
            }
            if let denial = field("understudy_witness_last_denial") { notes.append("\(report.name): the witness last said: \(denial)") }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
        }
        if !notes.isEmpty { lines += [""] + notes }
        return lines.joined(separator: "\n")
    }

    private static func json(_ reports: [(name: String, fields: [(String, String)]?, error: String?)],
                             events: [(name: String, lines: [String])]) -> String {
        let entries = reports.map { report -> String in
            var members = ["\"address\":\(JSONText.quoted(report.name))", "\"reachable\":\(report.fields != nil)"]
            if let lines = events.first(where: { $0.name == report.name })?.lines {
                members.append("\"events\":[" + lines.joined(separator: ",") + "]")
            }
            if let error = report.error { members.append("\"error\":\(JSONText.quoted(error))") }
            if let fields = report.fields {
                members.append("\"info\":{" + fields.map { "\(JSONText.quoted($0.0)):\(JSONText.quoted($0.1))" }.joined(separator: ",") + "}")
            }
            return "{" + members.joined(separator: ",") + "}"
        }
        return "{\"processes\":[" + entries.joined(separator: ",") + "]}"
    }
}
