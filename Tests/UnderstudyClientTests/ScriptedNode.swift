import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyWire

/// A fake node on 127.0.0.1 that answers each command with what `answer` returns, or never
/// answers it (nil): a node that accepts connections and reads, but is stuck.
struct ScriptedNode: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(answer: @escaping @Sendable (Command) -> Reply?) async throws -> ScriptedNode {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPCommandDecoder()), ScriptedHandler(answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedNode(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = Command
    typealias OutboundOut = ByteBuffer
    let answer: @Sendable (Command) -> Reply?

    init(answer: @escaping @Sendable (Command) -> Reply?) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reply = answer(unwrapInboundIn(data)) else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeRESPReply(reply)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
