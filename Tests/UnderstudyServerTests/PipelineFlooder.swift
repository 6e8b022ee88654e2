import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyWire

/// A client that pipelines the same batch of requests back to back, from the client's event
/// loop (not the test's task), until the server closes the connection or `deadline` passes.
/// Replies are read and dropped. For load that never pauses, whatever the task scheduler does.
final class PipelineFlooder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let batch: ByteBuffer
    private let deadline: NIODeadline
    private let firstReply: EventLoopPromise<Void>
    private let ended: EventLoopPromise<Bool>
    private var hasReplied = false
    private var hasEnded = false

    private init(batch: ByteBuffer, deadline: NIODeadline, eventLoop: any EventLoop) {
        self.batch = batch
        self.deadline = deadline
        self.firstReply = eventLoop.makePromise()
        self.ended = eventLoop.makePromise()
    }

    /// Connects and starts flooding. `firstReply` completes once the server has answered
    /// something; `closedByServer` with true if the server closed the connection before
    /// the deadline, false if the flooder gave up first.
    static func start(
        port: Int, commands: [Command], deadline: NIODeadline
    ) async throws -> (firstReply: EventLoopFuture<Void>, closedByServer: EventLoopFuture<Bool>) {
        var batch = ByteBuffer()
        for command in commands { batch.writeRESPCommand(command) }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { [batch] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        PipelineFlooder(batch: batch, deadline: deadline, eventLoop: channel.eventLoop))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await channel.eventLoop.submit {
            let flooder = try channel.pipeline.syncOperations.handler(type: PipelineFlooder.self)
            return (flooder.firstReply.futureResult, flooder.ended.futureResult)
        }.get()
    }

    func channelActive(context: ChannelHandlerContext) {
        writeNext(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !hasReplied else { return }
        hasReplied = true
        firstReply.succeed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(closedByServer: true)
        if !hasReplied {
            hasReplied = true
            firstReply.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset after the server closed with requests unread: the close shows as inactive.
        context.close(promise: nil)
    }

    private func writeNext(context: ChannelHandlerContext) {
        guard !hasEnded else { return }
        guard NIODeadline.now() < deadline else {
            end(closedByServer: false)
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(batch)).assumeIsolated().whenSuccess {
            self.writeNext(context: context)
        }
    }

    private func end(closedByServer: Bool) {
        guard !hasEnded else { return }
        hasEnded = true
        ended.succeed(closedByServer)
    }
}
