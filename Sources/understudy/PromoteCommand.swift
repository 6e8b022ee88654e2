import ArgumentParser
import UnderstudyClient
import UnderstudyCore
import UnderstudyServer

#if canImport(Glibc)
import Glibc
#endif

/// `understudy promote --force`: an operator promotes a standby that automation will not
/// (witness gone, standby not in sync, lag too large), knowing what it may lose.
struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Force the standby to become primary, after saying what may be lost (needs --force)."
    )

    @Option(help: "The data nodes' addresses, HOST:PORT,HOST:PORT (the standby among them is promoted).")
    var nodes: String

    @Flag(help: "Required: this promotion may lose acknowledged writes.")
    var force = false

    @Flag(help: "Do not ask for confirmation.")
    var yes = false

    @Option(help: "How long to wait for the promotion (e.g. 10s).")
    var timeout: String = "10s"

    @OptionGroup(title: "TLS")
    var tlsOptions: TLSClientOptions

    func validate() throws {
        guard force else { throw ValidationError("promote needs --force: it may lose acknowledged writes (for a safe hand-over use understudy switchover)") }
        guard !NodeInfo.addresses(nodes).isEmpty else { throw ValidationError("--nodes needs HOST:PORT,HOST:PORT") }
        guard DurationText.milliseconds(timeout).map({ $0 > 0 }) == true else { throw ValidationError("--timeout must be a duration such as 10s") }
    }

    @OptionGroup(title: "Authentication")
    var passwordOptions: PasswordOptions

    func run() async throws {
        let tls = try tlsOptions.clientTLS()
        let password = try passwordOptions.password()
        var standby: NodeInfo?
        var primary: NodeInfo?
        for address in NodeInfo.addresses(nodes) {
            do {
                let info = try await NodeInfo.fetch(address, section: "replication", timeoutMilliseconds: 2_000, tls: tls,
                                                    password: password, username: passwordOptions.user)
                if info.role == "standby" { standby = info }
                if info.role == "primary" { primary = info }
            } catch {
                print("\(address): unreachable (\(error))")
            }
        }
        guard let standby else { throw ExitMessage("no reachable standby among \(nodes)") }
        let durable = standby["understudy_durable_lsn"] ?? standby["slave_repl_offset"] ?? "0"
        let primaryLast = primary?["master_repl_offset"]
        let lagLSNs = standby["understudy_lag_lsns"] ?? "0"
        print("Promoting \(standby.address) (durable up to LSN \(durable)).")
        if let primary, let primaryLast {
            print("The primary \(primary.address) is reachable and has written up to LSN \(primaryLast): LSNs after \(durable) (\(max(0, (Int64(primaryLast) ?? 0) - (Int64(durable) ?? 0))) writes) may be lost; they will be cut off into its lost-writes file when it rejoins.")
        } else {
            print("The primary is unreachable. At its last heartbeat the standby lagged \(lagLSNs) records: writes after LSN \(durable) (at least \(lagLSNs)) may be lost, and are kept in the old primary's lost-writes file when it rejoins.")
        }
        if standby["understudy_witness_link"] != "up" {
            print("The witness is unreachable from the standby: the new epoch is persisted on the standby alone; the old primary is fenced when it next meets either node.")
        }
        if !yes {
            print("Type yes to promote: ", terminator: "")
            fflush(nil)  // every output stream: the prompt must show before reading
            guard readLine()?.trimmingPrefix(" ").lowercased() == "yes" else { throw ExitMessage("not promoted") }
        }
        let timeoutMilliseconds = DurationText.milliseconds(timeout) ?? 10_000
        let replies = try await NodeRequest.send(
            [Command("PROMOTE", "FORCE", "TIMEOUT", "\(timeoutMilliseconds)")], to: standby.address,
            timeoutMilliseconds: timeoutMilliseconds + 5_000, tls: tls, password: password, username: passwordOptions.user)
        switch replies.first {
        case .simple?:
            print("promoted: \(standby.address) is the primary")
        case .error(let message)?:
            throw ExitMessage("promotion refused by \(standby.address): \(message)")
        default:
            throw ExitMessage("unexpected answer from \(standby.address): \(String(describing: replies.first))")
        }
    }
}
