import UnderstudyCore

/// What one attempt's outcome means for the call: done, safe to try again anywhere, or
/// possibly applied (docs/protocol.md, "Errors to a write"). Pure: text in, meaning out.
///
/// The rule that makes outcomes never wrong: a reply or failure is `notExecuted` only when
/// the server (or the transport, before anything was written) says so; everything that
/// might have run is `outcomeUnknown`. When in doubt, unknown.
enum ReplyClassification: Equatable, Sendable {
    /// A reply that is not an error.
    case success(Reply)
    /// The server ran the command and answered an error; retrying would get the same.
    case failed(UnderstudyClientError.Code, message: String)
    /// The command did not run: safe to retry on any node. `redirect` is what a `READONLY`
    /// said about the primary.
    case notExecuted(reason: String, redirect: Redirect?)
    /// The command may or may not have run.
    case outcomeUnknown(reason: String)

    /// A `-READONLY` reply's view of the cluster, stamped with the epoch it was made in.
    struct Redirect: Equatable, Sendable {
        /// The primary the refusing node names (`primary=HOST:PORT`), if it names one.
        var primary: NodeAddress?
        /// The epoch of that view (`epoch=E`, or the newer epoch of a superseded primary).
        var epoch: UInt64?
    }

    /// Error prefixes that, by docs/protocol.md, are sent only for a command that did not run.
    private static let notExecutedPrefixes: Set<Substring> = ["READONLY", "TRYAGAIN", "LOADING", "BUSY", "MASTERDOWN"]
    /// Error texts (after the prefix) that also mean "not executed".
    private static let notExecutedTexts: [String] = [
        "ERR write refused:", "ERR read refused:", "ERR max number of clients reached", "NOREPLICAS too many writes waiting",
    ]

    static func classify(_ reply: Reply) -> ReplyClassification {
        guard case .error(let text) = reply else { return .success(reply) }
        let prefix = text.prefix { $0 != " " }
        if prefix == "READONLY" {
            return .notExecuted(reason: text, redirect: parseRedirect(text))
        }
        if notExecutedPrefixes.contains(prefix) || notExecutedTexts.contains(where: { text.hasPrefix($0) }) {
            return .notExecuted(reason: text, redirect: nil)
        }
        if prefix == "UNCERTAIN" || prefix == "NOREPLICAS" {
            return .outcomeUnknown(reason: text)
        }
        if text.hasPrefix("ERR IDEMPOTENT key was already used") {
            return .failed(.idempotencyKeyConflict, message: text)
        }
        return .failed(.serverError, message: text)
    }

    static func classify(_ failure: TransportFailure) -> ReplyClassification {
        switch failure {
        case .notSent(let reason): .notExecuted(reason: reason, redirect: nil)
        case .sentWithoutReply(let reason): .outcomeUnknown(reason: reason)
        }
    }

    /// `READONLY … primary=HOST:PORT epoch=E` (a standby), or `READONLY this node is no longer
    /// the primary: epoch N superseded epoch M` / `… it has seen epoch N` (a fenced primary:
    /// the first `epoch N` is the newer epoch; no primary is named).
    static func parseRedirect(_ text: String) -> Redirect {
        var redirect = Redirect()
        let words = text.split(separator: " ")
        for word in words {
            if word.hasPrefix("primary=") {
                redirect.primary = NodeAddress(parsing: word.dropFirst("primary=".count))
            } else if word.hasPrefix("epoch="), let epoch = UInt64(word.dropFirst("epoch=".count)) {
                redirect.epoch = epoch
            }
        }
        if redirect.epoch == nil, let word = words.indices.dropLast().first(where: {
            words[$0] == "epoch" && UInt64(words[$0 + 1]) != nil
        }) {
            redirect.epoch = UInt64(words[word + 1])
        }
        return redirect
    }
}
