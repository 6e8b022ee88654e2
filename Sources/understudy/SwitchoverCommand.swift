import ArgumentParser
import UnderstudyClient
import UnderstudyCore
import UnderstudyServer

/// `understudy switchover`: a planned, zero-loss hand-over of the primary role to the standby.
struct SwitchoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchover",
        abstract: "Hand the primary role to the standby: writes are held for a moment, nothing acknowledged is lost."
    )

    @Option(help: "The data nodes' addresses, HOST:PORT,HOST:PORT.")
    var nodes: String

    @Option(help: "The node to hand over to, HOST:PORT (it must be the standby; default: the standby).")
    var to: ListenAddress?

    @Option(help: "How long the standby may take to catch up before the switchover is abandoned (e.g. 5s).")
    var timeout: String = "5s"

    @OptionGroup(title: "TLS")
    var tlsOptions: TLSClientOptions

    func validate() throws {
        guard NodeInfo.addresses(nodes).count >= 2 else { throw ValidationError("--nodes needs both data nodes, HOST:PORT,HOST:PORT") }
        guard DurationText.milliseconds(timeout).map({ $0 > 0 }) == true else { throw ValidationError("--timeout must be a duration such as 5s") }
    }

    @OptionGroup(title: "Authentication")
    var passwordOptions: PasswordOptions

    func run() async throws {
        let password = try passwordOptions.password()
        let timeoutMilliseconds = DurationText.milliseconds(timeout) ?? 5_000
        let tls = try tlsOptions.clientTLS()
        var primary: NodeInfo?
        var problems: [String] = []
        for address in NodeInfo.addresses(nodes) {
            do {
                let info = try await NodeInfo.fetch(address, section: "replication", timeoutMilliseconds: 2_000, tls: tls,
                                                    password: password, username: passwordOptions.user)
                if info.role == "primary" { primary = info }
            } catch {
                problems.append("\(address): \(error)")
            }
        }
        guard let primary else {
            throw ExitMessage("no primary among \(nodes)" + (problems.isEmpty ? "" : " (\(problems.joined(separator: "; ")))"))
        }
        if let to, "\(to)" == "\(primary.address)" {
            print("\(to) is already the primary; nothing to do")
            return
        }
        var command = ["FAILOVER"]
        if let to { command += ["TO", to.host, "\(to.port)"] }
        command += ["TIMEOUT", "\(timeoutMilliseconds)"]
        let started = ContinuousClock.now
        let replies = try await NodeRequest.send(
            [Command(arguments: command.map { Array($0.utf8) })], to: primary.address,
            timeoutMilliseconds: timeoutMilliseconds + 5_000, tls: tls, password: password, username: passwordOptions.user)
        let elapsed = ContinuousClock.now - started
        switch replies.first {
        case .simple(let line)?:
            let newPrimary = line.hasPrefix("OK ") ? String(line.dropFirst(3)) : line
            print("switched over: \(newPrimary) is the primary (was \(primary.address)); took \(elapsed.milliseconds) ms")
        case .error(let message)?:
            throw ExitMessage("switchover refused by \(primary.address): \(message)")
        default:
            throw ExitMessage("unexpected answer from \(primary.address): \(String(describing: replies.first))")
        }
    }
}

/// A failed operator command: its message is printed and the exit code is 1.
struct ExitMessage: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
