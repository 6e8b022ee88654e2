import UnderstudyTestKit
import Glibc
import Logging
import ServiceLifecycle
import Testing
@testable import UnderstudyServer
import UnderstudyCore

/// A real standalone data node (no `--peer`) in this process on 127.0.0.1 and an ephemeral
/// port, in a fresh /tmp directory, for the length of `body` (as UnderstudyServerTests'
/// `TestNode` does).
enum LoopbackNode {
    /// - Parameter users: who may connect (default: no password).
    static func run<Result: Sendable>(users: UserTable = UserTable(), _ body: (_ port: Int) async throws -> Result) async throws -> Result {
        let directory = try TemporaryDirectory()
        var configuration = ServerConfiguration(dataDirectory: directory.path, host: "127.0.0.1", port: 0, fsyncPolicy: .no)
        configuration.users = users
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        configuration.onListening = { port in portContinuation.yield(port) }
        var logger = Logger(label: "understudy.client-test", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let group = ServiceGroup(services: [DataNodeService(configuration: configuration, logger: logger)], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { tasks in
            tasks.addTask {
                defer { portContinuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the node returned before it listened") }
            let result: Result
            do {
                result = try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}
