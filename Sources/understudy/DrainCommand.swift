import ArgumentParser
import UnderstudyClient
import UnderstudyCore
import UnderstudyServer

/// `understudy drain NODE`: take a node out for maintenance the way SIGTERM does — its
/// health turns 503, its client listener closes, a primary with an attached standby hands
/// over, in-flight requests finish within its `--drain-timeout`, and the process exits 0.
struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a node for maintenance: 503 on health, listener closed, hand-over if primary, in-flight requests finish, the process exits."
    )

    @Argument(help: "The node's client address, HOST:PORT.")
    var node: ListenAddress

    @Option(help: "How long to wait for the node to stop after it accepted the drain (e.g. 30s).")
    var wait: String = "30s"

    @OptionGroup(title: "TLS")
    var tlsOptions: TLSClientOptions

    func validate() throws {
        guard DurationText.milliseconds(wait).map({ $0 > 0 }) == true else { throw ValidationError("--wait must be a duration such as 30s") }
    }

    @OptionGroup(title: "Authentication")
    var passwordOptions: PasswordOptions

    func run() async throws {
        let password = try passwordOptions.password()
        let waitMilliseconds = DurationText.milliseconds(wait) ?? 30_000
        let tls = try tlsOptions.clientTLS()
        let replies: [Reply]
        do {
            replies = try await NodeRequest.send([Command("DRAIN")], to: node, timeoutMilliseconds: 5_000, tls: tls,
                                                 password: password, username: passwordOptions.user)
        } catch {
            throw ExitMessage("cannot reach \(node): \(error)")
        }
        switch replies.first {
        case .simple(let line)?:
            print("\(node): \(line)")
        case .error(let message)?:
            throw ExitMessage("\(node) refused the drain: \(message)")
        default:
            throw ExitMessage("unexpected answer from \(node): \(String(describing: replies.first))")
        }
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(waitMilliseconds)
        while ContinuousClock.now < deadline {
            do {
                _ = try await NodeRequest.send([Command("PING")], to: node, timeoutMilliseconds: 1_000, tls: tls)
            } catch {
                // The client port closes as the drain begins; the process then hands over,
                // finishes in-flight requests and exits (its log says when).
                print("\(node): client port closed \((ContinuousClock.now - started).milliseconds) ms after the drain began; the node finishes in-flight requests and exits")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ExitMessage("\(node) accepted the drain but still answers after \(wait)")
    }
}
