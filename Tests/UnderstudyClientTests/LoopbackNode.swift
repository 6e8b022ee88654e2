import Glibc
import Logging
import ServiceLifecycle
import Testing
@testable import UnderstudyServer

/// A real standalone data node (no `--peer`) in this process on 127.0.0.1 and an ephemeral
/// port, in a fresh /tmp directory, for the length of `body` (as UnderstudyServerTests'
/// `TestNode` does).
enum LoopbackNode {
    static func run<Result: Sendable>(_ body: (_ port: Int) async throws -> Result) async throws -> Result {
        let directory = try TemporaryDirectory()
        var configuration = ServerConfiguration(dataDirectory: directory.path, host: "127.0.0.1", port: 0, fsyncPolicy: .no)
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

/// A fresh directory under /tmp, removed (recursively) when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/understudy-client-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard result != nil else { throw TestFailure("mkdtemp failed: errno \(errno)") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { Self.removeTree(path) }

    private static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        if let stream = opendir(path) {
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != ".", name != ".." { removeTree(path + "/" + name) }
            }
            closedir(stream)
        }
        rmdir(path)
    }
}

/// A test's own precondition failed.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Repeats `probe` until it is true or `timeout` passes (then false).
func eventually(timeout: Duration = .seconds(3), _ probe: () async throws -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await probe() { return true }
        guard clock.now < deadline else { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
}
