import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyWire

/// One TCP connection to a node, shared by any number of concurrent callers: requests are
/// written in the order they arrive, and replies are matched to them in that order (RESP
/// pipelining). All state lives in `RESPConnectionHandler`, on the channel's event loop.
final class RESPConnection: Sendable {
    let node: NodeAddress
    private let channel: any Channel
    private let handler: NIOLoopBound<RESPConnectionHandler>

    private init(node: NodeAddress, channel: any Channel, handler: NIOLoopBound<RESPConnectionHandler>) {
        self.node = node
        self.channel = channel
        self.handler = handler
    }

    var isActive: Bool { channel.isActive }

    /// Connects within `timeoutMilliseconds`, and with `tls` completes the handshake within as
    /// long again: a certificate that does not verify fails the connect, so nothing was sent.
    /// Given `authentication` (the arguments of an `AUTH` command), it authenticates before
    /// any caller's request is sent; a refused `AUTH` closes the connection and fails the
    /// future with `AuthenticationRefused`.
    static func connect(to node: NodeAddress, group: any EventLoopGroup, timeoutMilliseconds: Int64,
                        maxAbandonedReplies: Int, tls: ClientTLS? = nil,
                        authentication: [[UInt8]]? = nil) -> EventLoopFuture<RESPConnection> {
        ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(timeoutMilliseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try tls?.addHandler(to: channel, host: node.host, awaitingHandshake: true)
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPReplyDecoder()),
                        RESPConnectionHandler(maxAbandonedReplies: maxAbandonedReplies))
                }
            }
            .connect(host: node.host, port: node.port)
            .flatMap { (channel: any Channel) -> EventLoopFuture<RESPConnection> in
                channel.eventLoop.flatSubmit { () -> EventLoopFuture<RESPConnection> in
                    let handshake: EventLoopFuture<Void>
                    do {
                        handshake = tls == nil ? channel.eventLoop.makeSucceededVoidFuture()
                            : try ClientTLS.handshakeCompleted(on: channel, timeoutMilliseconds: timeoutMilliseconds)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return handshake.flatMapThrowing { () -> RESPConnection in
                        let handler = try channel.pipeline.syncOperations.handler(type: RESPConnectionHandler.self)
                        return RESPConnection(node: node, channel: channel,
                                              handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
            }
            .flatMap { (connection: RESPConnection) -> EventLoopFuture<RESPConnection> in
                guard let authentication else { return connection.channel.eventLoop.makeSucceededFuture(connection) }
                return connection.authenticate(authentication, timeoutMilliseconds: timeoutMilliseconds)
            }
    }

    /// Sends `AUTH …` first; the connection, or a failure once it is closed.
    private func authenticate(_ arguments: [[UInt8]], timeoutMilliseconds: Int64) -> EventLoopFuture<RESPConnection> {
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        handler.value.enqueue(Command(arguments: arguments), timeoutMilliseconds: timeoutMilliseconds, promise: promise)
        let channel = self.channel
        return promise.futureResult.flatMapThrowing { reply in
            if case .error(let message) = reply {
                channel.close(promise: nil)
                throw AuthenticationRefused(node: self.node, message: message)
            }
            return self
        }
    }
}

/// The node refused the `AUTH` a new connection sent (`-WRONGPASS`, or `-ERR AUTH … without
/// any password configured`).
struct AuthenticationRefused: Error, CustomStringConvertible {
    var node: NodeAddress
    var message: String
    var description: String { "\(node) refused the password: \(message)" }
}

extension RESPConnection {
    /// The `AUTH` arguments for a password and an optional user name (nil: `default`).
    static func authenticationArguments(username: String?, password: String?) -> [[UInt8]]? {
        guard let password else { return nil }
        return [Array("AUTH".utf8)] + (username.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)]
    }

    /// Sends `arguments` and waits for its reply at most `timeoutMilliseconds`.
    func send(_ arguments: [[UInt8]], timeoutMilliseconds: Int64) async throws(TransportFailure) -> Reply {
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        let command = Command(arguments: arguments)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.enqueue(command, timeoutMilliseconds: timeoutMilliseconds, promise: promise)
        }
        do {
            return try await promise.futureResult.get()
        } catch let failure as TransportFailure {
            throw failure
        } catch {
            throw .sentWithoutReply(reason: "\(error)")
        }
    }

    /// Closes the connection; requests still waiting fail as sent without a reply.
    func close() async {
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {
            // Closed by the peer or an error first: nothing left to do.
        } catch {
            // Any other error closing still leaves the channel closed: nothing to report.
            assert(!channel.isActive, "a channel whose close failed is still open: \(error)")
        }
    }
}

/// The event-loop side of `RESPConnection`: a FIFO of requests waiting for their replies.
/// A request that times out is abandoned, not removed: its reply, when it comes, is read and
/// dropped so that every later reply still meets its own request. A connection owing more
/// than `maxAbandonedReplies` such replies is closed (the node is stuck, not slow).
final class RESPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Reply
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        /// Nil once abandoned (timed out).
        var promise: EventLoopPromise<Reply>?
        var timeout: Scheduled<Void>?
    }

    private let maxAbandonedReplies: Int
    private var waiting = CircularBuffer<Waiting>()
    /// The identifier of `waiting.first`; identifiers grow by one per request.
    private var firstWaitingID: UInt64 = 0
    private var abandonedCount = 0
    private var context: ChannelHandlerContext?
    private var closedBecause: String?

    init(maxAbandonedReplies: Int) {
        self.maxAbandonedReplies = maxAbandonedReplies
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(because: "the connection was closed")
        self.context = nil
    }

    func enqueue(_ command: Command, timeoutMilliseconds: Int64, promise: EventLoopPromise<Reply>) {
        guard let context, closedBecause == nil, context.channel.isActive else {
            promise.fail(TransportFailure.notSent(reason: closedBecause ?? "the connection is closed"))
            return
        }
        let id = firstWaitingID + UInt64(waiting.count)
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
            self.abandon(id: id, afterMilliseconds: timeoutMilliseconds)
        }
        waiting.append(Waiting(promise: promise, timeout: timeout))
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeRESPCommand(command)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let first = waiting.popFirst() else {
            closedBecause = "the node sent a reply nobody asked for"
            context.close(promise: nil)
            return
        }
        firstWaitingID += 1
        first.timeout?.cancel()
        if let promise = first.promise {
            promise.succeed(reply)
        } else {
            abandonedCount -= 1
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(because: closedBecause ?? "the connection was closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closedBecause = "connection error: \(error)"
        context.close(promise: nil)
    }

    private func abandon(id: UInt64, afterMilliseconds timeoutMilliseconds: Int64) {
        guard id >= firstWaitingID, id - firstWaitingID < UInt64(waiting.count) else { return }
        let index = waiting.index(waiting.startIndex, offsetBy: Int(id - firstWaitingID))
        guard let promise = waiting[index].promise else { return }
        waiting[index].promise = nil
        abandonedCount += 1
        promise.fail(TransportFailure.sentWithoutReply(reason: "no reply within \(timeoutMilliseconds) ms"))
        if abandonedCount > maxAbandonedReplies, let context {
            closedBecause = "\(abandonedCount) requests got no reply in time"
            context.close(promise: nil)
        }
    }

    private func failAll(because reason: String) {
        if closedBecause == nil { closedBecause = reason }
        while let entry = waiting.popFirst() {
            firstWaitingID += 1
            entry.timeout?.cancel()
            entry.promise?.fail(TransportFailure.sentWithoutReply(reason: reason))
        }
        abandonedCount = 0
    }
}
