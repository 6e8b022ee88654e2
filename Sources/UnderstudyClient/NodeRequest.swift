public import NIOCore
public import NIOPosix
public import UnderstudyCore

/// A few commands to one node on one fresh connection, under one deadline, then closed: for
/// the operator tools (`understudy status`, `switchover`, `promote`) and for a node telling
/// its peer its epoch (`FENCE`). No discovery, no retries, no pooling — that is
/// `UnderstudyClient`'s job.
public enum NodeRequest {
    /// Requests run first on the fresh connection, each reply read before the next request
    /// is made (a peer handshake: `NodeEngine.fenceHandshake`). Throwing ends the exchange
    /// with nothing of `commands` sent: `.unreachable` for a transport failure,
    /// `.unexpectedReply` for the prologue's own error.
    public typealias Prologue = @Sendable (_ exchange: @Sendable (Command) async throws -> Reply) async throws -> Void

    /// The replies to `commands`, in order (an error reply is a reply, not a throw).
    /// - Throws: `UnderstudyClientError` — `.unreachable` when nothing was sent (the connect
    ///   failed or timed out), `.indeterminate` when a command was sent and its reply did not
    ///   come within the deadline (it may have run).
    /// - Parameters:
    ///   - password: sent as `AUTH [username] password` before the commands (a node with
    ///     `--password-file`; nil: none). A refused password throws `.authenticationFailed`.
    public static func send(_ commands: [Command], to address: NetworkAddress, timeoutMilliseconds: Int64 = 2_000,
                            tls: ClientTLS? = nil, password: String? = nil, username: String? = nil,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            prologue: Prologue? = nil) async throws(UnderstudyClientError) -> [Reply] {
        let clock = MonotonicClock()
        let connection: RESPConnection
        do {
            connection = try await RESPConnection.connect(
                to: address, group: group, timeoutMilliseconds: timeoutMilliseconds, maxAbandonedReplies: 1, tls: tls,
                authentication: RESPConnection.authenticationArguments(username: username, password: password)).get()
        } catch let refused as AuthenticationRefused {
            throw UnderstudyClientError(code: .authenticationFailed, message: "\(refused)", node: address)
        } catch {
            throw UnderstudyClientError(code: .unreachable, message: "cannot connect to \(address): \(error)", node: address)
        }
        if let prologue {
            do {
                try await prologue { command in
                    try await connection.send(command.arguments, timeoutMilliseconds: max(1, timeoutMilliseconds - clock.nowMilliseconds()))
                }
            } catch {
                await connection.close()
                // A transport failure is an unreachable node; anything else is the prologue's
                // own verdict on the replies (a peer that failed the handshake).
                let code: UnderstudyClientError.Code = error is TransportFailure ? .unreachable : .unexpectedReply
                throw UnderstudyClientError(code: code, message: "\(address): \(error)", node: address)
            }
        }
        var replies: [Reply] = []
        do throws(TransportFailure) {
            for command in commands {
                let remaining = timeoutMilliseconds - clock.nowMilliseconds()
                guard remaining > 0 else {
                    throw TransportFailure.notSent(reason: "\(address) did not answer within \(timeoutMilliseconds) ms")
                }
                replies.append(try await connection.send(command.arguments, timeoutMilliseconds: remaining))
            }
        } catch {
            await connection.close()
            switch error {
            case .notSent(let reason):
                throw UnderstudyClientError(code: replies.isEmpty ? .unreachable : .deadlineExceeded, message: reason, node: address)
            case .sentWithoutReply(let reason):
                throw UnderstudyClientError(code: .indeterminate, message: "\(address): \(reason)", node: address)
            }
        }
        await connection.close()
        return replies
    }
}
