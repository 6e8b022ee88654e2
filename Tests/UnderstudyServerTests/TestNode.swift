import UnderstudyTestKit
import Logging
import ServiceLifecycle
import Testing
@testable import UnderstudyServer

/// A real `DataNodeService`, run in this process inside a `ServiceGroup` on 127.0.0.1 and an
/// ephemeral port, for the length of a test body.
struct TestNode: Sendable {
    let port: Int
    let configuration: ServerConfiguration
    private let serviceGroup: ServiceGroup

    /// Warnings and worse go to stderr, so a failing WAL or snapshot shows in the test log.
    static let logger: Logger = {
        var logger = Logger(label: "understudy.test", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        return logger
    }()

    /// The configuration tests start from: a loopback listener on port 0 in `dataDirectory`.
    static func configuration(
        dataDirectory: String, fsyncPolicy: FsyncPolicy = .always
    ) -> ServerConfiguration {
        ServerConfiguration(dataDirectory: dataDirectory, host: "127.0.0.1", port: 0, fsyncPolicy: fsyncPolicy)
    }

    /// Starts the service, waits until it listens, runs `body`, then shuts the service down
    /// gracefully and waits for its `run()` to return. A `run()` that throws fails the call,
    /// so a test that returns normally has also seen a clean start and a clean stop.
    static func run<Result: Sendable>(
        _ configuration: ServerConfiguration,
        _ body: (TestNode) async throws -> Result
    ) async throws -> Result {
        var configuration = configuration
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        configuration.onListening = { port in portContinuation.yield(port) }
        let serviceGroup = ServiceGroup(
            services: [DataNodeService(configuration: configuration, logger: logger)], logger: logger)
        return try await runServing(serviceGroup, ports: ports, portContinuation: portContinuation) { port in
            try await body(TestNode(port: port, configuration: configuration, serviceGroup: serviceGroup))
        }
    }

    /// Asks the service to stop; `run(_:_:)` still waits for it when the body returns.
    func triggerGracefulShutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }

    /// Opens a client connection for the length of `body`.
    func withConnection<Result: Sendable>(
        _ body: (inout TestConnection) async throws -> Result
    ) async throws -> Result {
        try await TestConnection.with(port: port, body)
    }
}

/// Runs `serviceGroup` until it reports its port on `ports`, runs `body` with that port, then
/// shuts the group down gracefully and waits for it. A `run()` that throws fails the call.
func runServing<Result: Sendable>(
    _ serviceGroup: ServiceGroup, ports: AsyncStream<Int>, portContinuation: AsyncStream<Int>.Continuation,
    _ body: (Int) async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { tasks in
        tasks.addTask {
            defer { portContinuation.finish() }
            try await serviceGroup.run()
        }
        var portIterator = ports.makeAsyncIterator()
        guard let port = await portIterator.next() else {
            try await tasks.waitForAll()
            throw TestFailure("the service returned before it listened")
        }
        let result: Result
        do {
            result = try await body(port)
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            do {
                try await tasks.waitForAll()
            } catch let stopError {
                Issue.record(stopError, "the service failed while stopping after a failed test body")
            }
            throw error
        }
        await serviceGroup.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}
