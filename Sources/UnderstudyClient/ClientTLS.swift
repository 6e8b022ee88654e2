public import NIOCore
public import NIOSSL
import NIOTLS

/// TLS for a connection this process dials: to a node (clients, operator commands, FENCE, a
/// standby's replication link) or to the witness.
///
/// The context is asked for at each connect, so a certificate reloaded after SIGHUP is
/// presented by the next connection while open ones keep theirs. What is verified is the
/// context's business (see `TLSSetup` in UnderstudyServer): with full verification the peer's
/// certificate MUST chain to the CA and name the address dialled — its DNS name when the
/// address is a name (also sent as SNI), its IP address (an IP SAN) when it is an IP literal.
public struct ClientTLS: Sendable {
    /// The context for the next connection.
    public let currentContext: @Sendable () -> NIOSSLContext

    public init(currentContext: @escaping @Sendable () -> NIOSSLContext) {
        self.currentContext = currentContext
    }

    /// A fixed context (no reload): for one-shot tools and tests.
    public init(context: NIOSSLContext) {
        self.currentContext = { context }
    }

    /// Puts the TLS handler first in `channel`'s pipeline, for a connection to `host`.
    ///
    /// MUST be called on the channel's event loop (a channel initializer), before any other
    /// handler that reads or writes bytes. An IP literal is not sent as SNI (RFC 6066); the
    /// handshake then checks the certificate against the address connected to.
    public func addHandler(to channel: any Channel, host: String, awaitingHandshake: Bool = false) throws {
        let serverHostname = Self.isIPLiteral(host) ? nil : host
        let handler = try NIOSSLClientHandler(context: currentContext(), serverHostname: serverHostname)
        try channel.pipeline.syncOperations.addHandler(handler)
        if awaitingHandshake {
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: channel.eventLoop.makePromise()))
        }
    }

    /// Succeeds once the handshake on `channel` (set up by `addHandler` with
    /// `awaitingHandshake: true`) has completed; fails if it fails, the channel closes first,
    /// or `timeoutMilliseconds` pass. A request written before then would wait in the TLS
    /// handler and, should the handshake fail, would certainly not have run: callers wait
    /// here so that such a failure reads as "not sent", not as an unknown outcome.
    ///
    /// MUST be called on the channel's event loop.
    public static func handshakeCompleted(on channel: any Channel, timeoutMilliseconds: Int64) throws -> EventLoopFuture<Void> {
        let waiter = try channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self)
        let promise = waiter.promise
        let timeout = channel.eventLoop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
            promise.fail(TLSHandshakeTimeout(milliseconds: timeoutMilliseconds))
            channel.close(promise: nil)
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        return promise.futureResult
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    public static func isIPLiteral(_ host: String) -> Bool {
        do {
            _ = try SocketAddress(ipAddress: host, port: 0)
            return true
        } catch {
            // Not an address: a name, checked as a DNS name.
            return false
        }
    }
}

/// The TLS handshake did not complete in time.
struct TLSHandshakeTimeout: Error, CustomStringConvertible {
    let milliseconds: Int64
    var description: String { "the TLS handshake did not complete within \(milliseconds) ms" }
}

/// Completes `promise` with the handshake's outcome, then only passes events on.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { promise.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(ChannelError.ioOnClosedChannel)
    }
}
