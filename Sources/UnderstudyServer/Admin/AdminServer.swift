public import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin HTTP listener (`--admin HOST:PORT`), on the process's event loop group.
public enum AdminServer {
    /// Binds the admin port; the returned channel is the listener (close it to stop).
    public static func start(host: String, port: Int, group: any EventLoopGroup, backend: any AdminBackend) async throws -> any Channel {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(backend: backend))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw ServerStartError(message: "cannot listen for admin HTTP on \(host):\(port): \(error)")
        }
    }
}
