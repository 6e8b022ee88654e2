import NIOCore
import NIOPosix
public import UnderstudyCore
import UnderstudyWire

/// Sends a few commands on one fresh connection and returns their replies, for the
/// operator tools (`understudy status`): no pooling, no retries, one deadline.
public enum RESPRequest {
    /// The replies to `commands`, in order.
    /// - Throws: `RESPRequestError` when the node cannot be reached or does not answer
    ///   every command within `timeoutMilliseconds`.
    public static func send(_ commands: [Command], to address: ListenAddress, timeoutMilliseconds: Int64 = 2_000) async throws -> [Reply] {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let promise = loop.makePromise(of: [Reply].self)
        let collector = ReplyCollector(expected: commands.count, promise: promise)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(timeoutMilliseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(ByteToMessageHandler(RESPReplyDecoder()), collector)
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            let failure = RESPRequestError(message: "cannot connect to \(address): \(error)")
            promise.fail(failure)
            throw failure
        }
        let timeout = loop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
            collector.finish(.failure(RESPRequestError(message: "\(address) did not answer within \(timeoutMilliseconds) ms")))
        }
        var buffer = channel.allocator.buffer(capacity: 64)
        for command in commands { buffer.writeRESPCommand(command) }
        channel.writeAndFlush(buffer, promise: nil)
        defer {
            timeout.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

/// A node did not answer an operator tool's request.
public struct RESPRequestError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

private final class ReplyCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = Reply
    private let expected: Int
    private let promise: EventLoopPromise<[Reply]>
    private var replies: [Reply] = []
    private var finished = false

    init(expected: Int, promise: EventLoopPromise<[Reply]>) {
        self.expected = expected
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        replies.append(unwrapInboundIn(data))
        if replies.count == expected { finish(.success(replies)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(RESPRequestError(message: "the connection closed after \(replies.count) of \(expected) replies")))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(RESPRequestError(message: "bad reply: \(error)")))
        context.close(promise: nil)
    }

    /// Completes the request once; later outcomes (a timeout after the answer) are dropped.
    func finish(_ result: Result<[Reply], RESPRequestError>) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result.mapError { $0 as any Error })
    }
}
