import Logging
import NIOCore
import NIOEmbedded
import Testing
import UnderstudyCore
import UnderstudyStorage
import UnderstudyTestKit
import UnderstudyWire
@testable import UnderstudyServer

/// The per-connection bulkheads of `ClientHandler` (ClientHandler+Limits.swift), on an
/// `EmbeddedChannel` with the node's engine on the same `EmbeddedEventLoop`: virtual time
/// for the idle timeout, exact byte counts for the output limit.
@Suite(.timeLimit(.minutes(1)))
struct ClientLimitsTests {
    /// A standalone engine in `directory` on `loop`, with `configure` applied.
    private static func makeEngine(
        directory: TemporaryDirectory, loop: EmbeddedEventLoop, configure: (inout ServerConfiguration) -> Void
    ) throws -> NodeEngine {
        var configuration = TestNode.configuration(dataDirectory: directory.path, fsyncPolicy: .no)
        configure(&configuration)
        let recovered = try Recovery.recover(dataDirectory: directory.path, logger: TestNode.logger)
        let wal = try WALWriter.open(dataDirectory: directory.path, after: recovered)
        return NodeEngine(
            eventLoop: loop, configuration: configuration, recovered: recovered, wal: wal,
            history: EpochHistory(), logger: TestNode.logger)
    }

    /// Runs `body` with a connected client channel whose handler talks to a fresh engine.
    /// `outer` goes between the handler and the socket's end of the pipeline.
    private static func withClient(
        outer: (any ChannelHandler)? = nil,
        configure: (inout ServerConfiguration) -> Void,
        _ body: (EmbeddedChannel, NodeEngine) throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let loop = EmbeddedEventLoop()
        let engine = try makeEngine(directory: directory, loop: loop, configure: configure)
        let client = ClientHandler(engine: engine, allocator: ByteBufferAllocator())
        let channel = EmbeddedChannel(loop: loop)
        if let outer { try channel.pipeline.syncOperations.addHandler(outer) }
        try channel.pipeline.syncOperations.addHandler(client)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 6380), promise: nil)
        #expect(channel.isActive)
        do {
            try body(channel, engine)
        } catch {
            try await engine.shutdownThreads()
            throw error
        }
        _ = try channel.finish(acceptAlreadyClosed: true)  // a limit may have closed it
        try await engine.shutdownThreads()
    }

    /// The bytes of `ECHO <count bytes>`'s reply: `$<count>\r\n<bytes>\r\n`.
    private static func echoReplyBytes(_ count: Int) -> Int {
        String(count).utf8.count + 3 + count + 2
    }

    /// One request of a read: its reply is flushed only at the read's end (`writeInbound`
    /// would end the read at once).
    private static func readWithoutFlush(_ command: Command, on channel: EmbeddedChannel) {
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(command))
    }

    private static func echo(_ count: Int) -> Command {
        Command("ECHO", String(repeating: "x", count: count))
    }

    @Test func outputBufferLimit_repliesExactlyAtTheLimit_areSent() async throws {
        let limit = 4 * Self.echoReplyBytes(1000)
        try await Self.withClient(configure: { $0.clientOutputBufferLimitBytes = limit }) { channel, engine in
            for _ in 0..<4 { Self.readWithoutFlush(Self.echo(1000), on: channel) }
            channel.pipeline.fireChannelReadComplete()
            let sent = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(sent.readableBytes == limit)
            #expect(channel.isActive)
            #expect(engine.statistics.clientOutputBufferLimitDisconnections == 0)
        }
    }

    @Test func outputBufferLimit_onePastIt_closesTheConnectionAndCountsIt() async throws {
        let limit = 4 * Self.echoReplyBytes(1000)
        try await Self.withClient(configure: { $0.clientOutputBufferLimitBytes = limit }) { channel, engine in
            for _ in 0..<3 { Self.readWithoutFlush(Self.echo(1000), on: channel) }
            Self.readWithoutFlush(Self.echo(1001), on: channel)
            Self.readWithoutFlush(Command("PING"), on: channel)  // after the cut-off: never run
            channel.pipeline.fireChannelReadComplete()
            let sent = try channel.readOutbound(as: ByteBuffer.self)
            #expect(sent == nil, "nothing past the limit is sent")
            #expect(!channel.isActive)
            #expect(engine.statistics.clientOutputBufferLimitDisconnections == 1)
        }
    }

    @Test func outputBufferLimit_clientThatNeverReads_isCutOffAtTheLimitPlusOne() async throws {
        let limit = 2 * Self.echoReplyBytes(1000)
        try await Self.withClient(outer: StalledReader(), configure: { $0.clientOutputBufferLimitBytes = limit }) { channel, engine in
            for round in 1...2 {
                try channel.writeInbound(Self.echo(1000))
                channel.pipeline.fireChannelReadComplete()
                #expect(channel.isActive, "\(round) replies waiting: at most the limit")
            }
            try channel.writeInbound(Command("ECHO", "x"))
            channel.pipeline.fireChannelReadComplete()
            #expect(!channel.isActive, "past the limit")
            #expect(engine.statistics.clientOutputBufferLimitDisconnections == 1)
        }
    }

    @Test func inflightLimit_atN_stopsReading_untilAReplyGoesOut() async throws {
        let reads = ReadCounter()
        try await Self.withClient(outer: reads, configure: { $0.maxInflightPerConnection = 2 }) { channel, _ in
            let loop = try #require(channel.eventLoop as? EmbeddedEventLoop)
            Self.readWithoutFlush(Command("SET", "a", "1"), on: channel)  // held until the loop writes the log
            channel.read()
            #expect(reads.count == 1, "1 request in flight: reading goes on")
            Self.readWithoutFlush(Command("SET", "b", "2"), on: channel)
            channel.read()
            #expect(reads.count == 1, "2 requests in flight: not read from")
            loop.run()  // the log is written: both replies go out
            #expect(reads.count == 2, "the deferred read resumes once they are answered")
            let sent = try channel.readOutbound(as: ByteBuffer.self)
            #expect(sent.map { String(buffer: $0) } == "+OK\r\n+OK\r\n")
        }
    }

    @Test func idleTimeout_closesOnlyAfterTheFullTimeoutWithoutARequest() async throws {
        try await Self.withClient(configure: { $0.idleTimeoutMilliseconds = 1_000 }) { channel, engine in
            let loop = try #require(channel.eventLoop as? EmbeddedEventLoop)
            loop.advanceTime(by: .milliseconds(999))
            #expect(channel.isActive, "999 ms idle: below the timeout")
            try channel.writeInbound(Command("PING"))  // restarts the count at 999 ms
            loop.advanceTime(by: .milliseconds(999))
            #expect(channel.isActive, "999 ms since the last request")
            loop.advanceTime(by: .milliseconds(1))
            #expect(!channel.isActive, "1000 ms since the last request")
            #expect(engine.statistics.idleTimeoutDisconnections == 1)
        }
    }

    @Test func idleTimeout_zero_neverCloses() async throws {
        try await Self.withClient(configure: { $0.idleTimeoutMilliseconds = 0 }) { channel, engine in
            let loop = try #require(channel.eventLoop as? EmbeddedEventLoop)
            loop.advanceTime(by: .hours(24))
            #expect(channel.isActive)
            #expect(engine.statistics.idleTimeoutDisconnections == 0)
        }
    }
}

/// Passes writes on and drops flushes, so written replies stay buffered in the channel (the
/// `bufferedWritableBytes` an unread socket would have).
private final class StalledReader: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    func flush(context: ChannelHandlerContext) {}
}

/// Counts the reads that reach the socket's end of the pipeline.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
