import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import UnderstudyTestKit
@testable import UnderstudyServer

/// The admin handler behind NIOHTTP1's parser on an `EmbeddedChannel`: bytes in, bytes out.
@Suite struct AdminHTTPHandlerTests {
    struct StubBackend: AdminBackend {
        let loop: any EventLoop
        let state: AdminSnapshot
        let metricsExposition: (@Sendable () -> [UInt8])?
        var isWitness: Bool { state.isWitness }

        func snapshot() -> EventLoopFuture<AdminSnapshot> { loop.makeSucceededFuture(state) }

        func switchover(candidate: String?) -> EventLoopFuture<AdminSwitchoverOutcome> {
            loop.makeSucceededFuture(candidate == nil || candidate == "127.0.0.1:2" ? .done(primary: "127.0.0.1:2") : .refused("not the standby"))
        }
    }

    /// Sends `request` through a fresh pipeline; returns the status line's code, the headers
    /// and the body, and whether the handler closed the connection.
    private func exchange(_ request: String, snapshot: AdminSnapshot = AdminRouterTests.primary(),
                          metrics: (@Sendable () -> [UInt8])? = nil) throws -> (status: Int, head: String, body: String, closed: Bool) {
        let channel = EmbeddedChannel()
        let backend = StubBackend(loop: channel.eventLoop, state: snapshot, metricsExposition: metrics)
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(backend: backend))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(channel.allocator.buffer(string: request))
        var output = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            output += String(buffer: buffer)
        }
        let closed = !channel.isActive
        _ = try channel.finish(acceptAlreadyClosed: true)
        guard let split = output.firstRange(of: "\r\n\r\n") else {
            throw TestFailure("no complete response in \(output.debugDescription)")
        }
        let head = String(output[..<split.lowerBound])
        let code = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (code, head, String(output[split.upperBound...]), closed)
    }

    @Test func healthOnThePrimaryIs200WithItsJSON() throws {
        let answer = try exchange("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(answer.status == 200)
        #expect(answer.head.contains("Content-Type: application/json"))
        #expect(answer.body.contains("\"role\":\"primary\""))
        #expect(answer.body.contains("\"epoch\":3"))
        #expect(answer.closed)
    }

    @Test func headAnswersLikeGetWithoutABody() throws {
        let get = try exchange("GET /replica HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try exchange("HEAD /replica HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(get.status == 503)
        #expect(head.status == 503)
        #expect(head.body.isEmpty)
        #expect(!get.body.isEmpty)
    }

    @Test func unknownPathAndBadQueryAnswerJSONErrors() throws {
        let missing = try exchange("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(missing.status == 404)
        #expect(missing.body.contains("\"error\""))
        let bad = try exchange("GET /replica?lag=plenty HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(bad.status == 400)
    }

    @Test func metricsComeFromTheInjectedProvider() throws {
        let empty = try exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(empty.status == 200)
        #expect(empty.body.isEmpty)
        #expect(empty.head.contains("text/plain; version=0.0.4; charset=utf-8"))
        let filled = try exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", metrics: { Array("understudy_up 1\n".utf8) })
        #expect(filled.body == "understudy_up 1\n")
    }

    @Test func switchoverNamesTheNewPrimaryOrIsRefused() throws {
        let body = "{\"candidate\": \"127.0.0.1:2\"}"
        let done = try exchange("POST /switchover HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        #expect(done.status == 200)
        #expect(done.body.contains("\"primary\":\"127.0.0.1:2\""))
        let other = "{\"candidate\": \"127.0.0.1:9\"}"
        let refused = try exchange("POST /switchover HTTP/1.1\r\nHost: x\r\nContent-Length: \(other.utf8.count)\r\n\r\n\(other)")
        #expect(refused.status == 412)
        let garbage = "candidate=me"
        let bad = try exchange("POST /switchover HTTP/1.1\r\nHost: x\r\nContent-Length: \(garbage.utf8.count)\r\n\r\n\(garbage)")
        #expect(bad.status == 400)
    }
}
