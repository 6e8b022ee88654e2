import Logging
import NIOCore
import UnderstudyCore

/// Client authentication: `AUTH`, `HELLO … AUTH`, the gate in front of every other command,
/// and the delay for addresses that keep guessing (docs/security.md "Client authentication").
extension ClientHandler {
    /// The user a connection is when no password is configured (Redis's `default nopass`).
    static let openDefaultUser = UserTable.User(name: UserTable.defaultUserName, password: [], permission: .readWrite)

    /// Called when the connection opens: without a password it is `default` at once.
    func startAuthentication(remoteAddress: SocketAddress?) {
        session.remoteHost = remoteAddress?.ipAddress ?? "?"
        if !engine.configuration.users.requiresAuthentication { session.user = Self.openDefaultUser }
    }

    /// The reply refusing `command` to this connection's user (`-NOAUTH`, `-NOPERM`), or nil.
    func accessRefusal(for command: Command) -> Reply? {
        // The common cases first, without a lookup: no password, or a read-write user. A
        // connection that proved the cluster secret (PEERAUTH) is a cluster member: it counts
        // as authenticated, and its own gate (peer-only commands) is `handlePeerAuthentication`'s.
        guard engine.configuration.users.requiresAuthentication, session.user?.permission != .readWrite,
              !session.isAuthenticatedPeer else { return nil }
        let name = command.name
        return AccessRule.refusal(
            commandName: name, isWrite: CommandTable.spec(named: name)?.isWrite ?? false, permission: session.user?.permission)
    }

    /// `AUTH password` (the `default` user) or `AUTH username password`.
    func auth(_ arguments: [[UInt8]]) -> Reply {
        let outcome: AuthenticationOutcome
        switch arguments.count {
        case 2:
            guard engine.configuration.users.requiresAuthentication else { return AccessRule.noPasswordConfiguredReply }
            outcome = authenticate(username: UserTable.defaultUserName, password: arguments[1])
        case 3:
            outcome = authenticate(username: String(decoding: arguments[1], as: UTF8.self), password: arguments[2])
        default:
            return .error("ERR syntax error")
        }
        return delayed(outcome.refusal ?? .ok, byMilliseconds: outcome.delayMilliseconds)
    }

    /// What an authentication attempt came to: `refusal` nil when it succeeded; its reply
    /// MUST be held `delayMilliseconds` (`delayed`), whether it succeeded or not, so that
    /// the delay tells a guesser nothing.
    struct AuthenticationOutcome {
        var refusal: Reply?
        var delayMilliseconds: Int64
    }

    /// Checks the pair and, if right, makes the connection that user; a failure is
    /// counted, logged (never the password) and added to the address's throttle.
    func authenticate(username: String, password: [UInt8]) -> AuthenticationOutcome {
        let now = WallClock.monotonicMilliseconds()
        let host = session.remoteHost
        let delay = engine.authenticationThrottle.delayMilliseconds(for: host, nowMilliseconds: now)
        let users = engine.configuration.users
        let user = users.requiresAuthentication
            ? users.authenticate(username: username, password: password)
            : (username == UserTable.defaultUserName ? Self.openDefaultUser : nil)
        if let user {
            session.user = user
            engine.authenticationThrottle.succeeded(from: host)
            return AuthenticationOutcome(refusal: nil, delayMilliseconds: delay)
        }
        engine.statistics.authenticationFailures += 1
        engine.metrics.refused(.auth)
        engine.authenticationThrottle.failed(from: host, nowMilliseconds: now)
        engine.logger.warning("authentication failed", metadata: [
            "client": "\(session.remoteAddress)", "user": "\(username)", "delayMilliseconds": "\(delay)",
        ])
        return AuthenticationOutcome(refusal: AccessRule.wrongPassReply, delayMilliseconds: delay)
    }

    /// `reply`, answered `milliseconds` later without blocking the event loop: later
    /// requests of the connection wait behind it, as behind WAIT.
    func delayed(_ reply: Reply, byMilliseconds milliseconds: Int64) -> Reply {
        guard milliseconds > 0, let context else { return reply }
        waitPending = true
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(milliseconds)) { [self] in
            completeDeferred(reply)
        }
        return .simple("")  // not sent: the reply comes from `completeDeferred`
    }
}
