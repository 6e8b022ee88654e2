import UnderstudyTestKit
import NIOCore
import NIOPosix
import Testing
import UnderstudyCore
import UnderstudyWire

/// One client connection for tests (RESP2, or RESP3 after `HELLO 3`: the decoder reads
/// both): requests go out exactly as given (one `write` per call, so a batch is a real
/// pipeline), replies are decoded by `RESPReplyDecoder` and read one at a time.
struct TestConnection {
    private var replies: NIOAsyncChannelInboundStream<Reply>.AsyncIterator
    private let requests: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Connects to 127.0.0.1:`port`, runs `body`, then closes the connection.
    static func with<Result: Sendable>(
        port: Int,
        _ body: (inout TestConnection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
                    return try NIOAsyncChannel<Reply, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = TestConnection(replies: inbound.makeAsyncIterator(), requests: outbound)
            return try await body(&connection)
        }
    }

    // MARK: Sending

    /// Sends every command in one write.
    func send(_ commands: [Command]) async throws {
        var buffer = ByteBuffer()
        for command in commands { buffer.writeRESPCommand(command) }
        try await requests.write(buffer)
    }

    /// Sends raw bytes, e.g. a malformed request.
    func sendRaw(_ text: String) async throws {
        try await requests.write(ByteBuffer(string: text))
    }

    // MARK: Receiving

    /// The next reply, or nil once the server has closed the connection.
    mutating func nextReply() async throws -> Reply? {
        try await replies.next()
    }

    /// The next reply; throws if the connection closed instead.
    mutating func reply() async throws -> Reply {
        guard let reply = try await replies.next() else {
            throw TestFailure("the server closed the connection instead of replying")
        }
        return reply
    }

    /// The next `count` replies, in the order they arrived.
    mutating func replies(count: Int) async throws -> [Reply] {
        var received: [Reply] = []
        received.reserveCapacity(count)
        for _ in 0..<count { received.append(try await reply()) }
        return received
    }

    /// Every reply until the server closes the connection. A reset after the last reply
    /// counts as a close: a server that closes with unread requests makes the kernel reset.
    mutating func repliesUntilClosed() async -> [Reply] {
        var received: [Reply] = []
        do {
            while let reply = try await replies.next() { received.append(reply) }
        } catch {
            // Closed by a reset; what arrived before it is what the server sent.
        }
        return received
    }

    // MARK: Round trips

    /// Sends one command and returns its reply.
    mutating func call(_ words: String...) async throws -> Reply {
        try await send([Command(arguments: words.map { Array($0.utf8) })])
        return try await reply()
    }

    /// INFO `section` as a field → value map.
    mutating func info(_ section: String) async throws -> [String: String] {
        let reply = try await call("INFO", section)
        guard case .bulk(let bytes?) = reply else { throw TestFailure("INFO replied \(reply)") }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") {
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// An integer INFO field of `section`.
    mutating func infoInteger(_ section: String, _ field: String) async throws -> Int64 {
        let fields = try await info(section)
        guard let text = fields[field], let value = Int64(text) else {
            throw TestFailure("INFO \(section) has no integer \(field): \(fields)")
        }
        return value
    }
}

/// Compares two reply lists and reports the first difference, not two long dumps.
func expectReplies(
    _ actual: [Reply], _ expected: [Reply], sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "reply count", sourceLocation: sourceLocation)
    if let index = (0..<min(actual.count, expected.count)).first(where: { actual[$0] != expected[$0] }) {
        Issue.record("reply \(index) is \(actual[index]), expected \(expected[index])", sourceLocation: sourceLocation)
    }
}

/// The elements of an array reply; records an issue (and returns []) for anything else.
func arrayElements(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) -> [Reply] {
    guard case .array(let elements?) = reply else {
        Issue.record("expected an array reply, got \(reply)", sourceLocation: sourceLocation)
        return []
    }
    return elements
}
