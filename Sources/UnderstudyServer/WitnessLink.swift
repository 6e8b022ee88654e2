import Logging
import NIOCore
import NIOPosix
import UnderstudyClient
import UnderstudyCore
import UnderstudyWire

/// A data node's connection to the witness: RESP commands out (`WITNESS ...`), one reply
/// each, in order. Requests sent while the connection is being made wait for it; when it
/// fails or closes, or the oldest request goes unanswered for `requestTimeoutMilliseconds`
/// (a partitioned witness answers nothing), every pending request is reported unanswered
/// and the next request reconnects.
///
/// Loop-confined: every method MUST be called on `eventLoop`.
final class WitnessLink: @unchecked Sendable {
    typealias Completion = (_ request: WitnessRequest, _ reply: Result<WitnessReply, WitnessLinkError>, _ sentAt: Int64) -> Void

    let address: ListenAddress
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let requestTimeoutMilliseconds: Int64
    private let completion: Completion
    /// Makes the handshake handler for each new connection (nil: no cluster secret).
    private let authentication: () -> PeerAuthClientHandler?
    /// `--tls-replication`: TLS to the witness (nil: plaintext).
    private let tls: ClientTLS?
    private var channel: (any Channel)?
    private var connecting = false
    /// Sent (or waiting for the connection), oldest first.
    private var pending: [(request: WitnessRequest, sentAt: Int64, written: Bool)] = []
    private(set) var lastError: String?
    private(set) var isConnected = false

    init(address: ListenAddress, eventLoop: any EventLoop, logger: Logger, requestTimeoutMilliseconds: Int64,
         tls: ClientTLS? = nil, authentication: @escaping () -> PeerAuthClientHandler? = { nil },
         completion: @escaping Completion) {
        self.tls = tls
        self.address = address
        self.authentication = authentication
        self.eventLoop = eventLoop
        self.logger = logger
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.completion = completion
    }

    func send(_ request: WitnessRequest, nowMilliseconds now: Int64) {
        pending.append((request, now, false))
        if let channel {
            write(index: pending.count - 1, on: channel)
        } else {
            connect()
        }
    }

    /// Gives up on a witness that has not answered the oldest request in time.
    func checkTimeouts(nowMilliseconds now: Int64) {
        guard let oldest = pending.first, now - oldest.sentAt >= requestTimeoutMilliseconds else { return }
        failAll("the witness at \(address) did not answer within \(requestTimeoutMilliseconds) ms")
    }

    func close() {
        failAll("closing")
    }

    private func connect() {
        guard !connecting else { return }
        connecting = true
        let link = self
        let tls = self.tls
        let host = address.host
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.milliseconds(requestTimeoutMilliseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // TLS next to the socket, the peer handshake inside it.
                    try tls?.addHandler(to: channel, host: host)
                    if let handshake = link.authentication() { try channel.pipeline.syncOperations.addHandler(handshake) }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPReplyDecoder()), WitnessLinkHandler(link: link))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                link.connecting = false
                switch result {
                case .success(let channel):
                    link.channel = channel
                    link.isConnected = true
                    link.lastError = nil
                    for index in link.pending.indices where !link.pending[index].written {
                        link.write(index: index, on: channel)
                    }
                case .failure(let error):
                    link.failAll("cannot connect to the witness at \(link.address): \(error)")
                }
            }
    }

    private func write(index: Int, on channel: any Channel) {
        pending[index].written = true
        var buffer = channel.allocator.buffer(capacity: 128)
        buffer.writeRESPCommand(Command(arguments: pending[index].request.arguments))
        channel.writeAndFlush(buffer, promise: nil)
    }

    fileprivate func received(_ reply: Reply, from channel: any Channel) {
        guard channel === self.channel, !pending.isEmpty else { return }
        let (request, sentAt, _) = pending.removeFirst()
        let result: Result<WitnessReply, WitnessLinkError>
        do {
            switch reply {
            case .simple(let line): result = .success(try WitnessReply(line: line, isError: false))
            case .error(let line): result = .success(try WitnessReply(line: line, isError: true))
            default: throw WitnessLinkError(message: "unexpected reply \(reply)")
            }
        } catch {
            result = .failure(WitnessLinkError(message: "bad answer from the witness: \(error)"))
        }
        completion(request, result, sentAt)
    }

    fileprivate func closed(_ channel: any Channel) {
        guard channel === self.channel else { return }
        failAll("the witness at \(address) closed the connection")
    }

    /// A link error (a TLS certificate that does not verify, say): said in the log, not
    /// hidden behind the close that follows.
    fileprivate func failed(_ channel: any Channel, error: any Error) {
        guard channel === self.channel else { return }
        failAll("the link to the witness at \(address) failed: \(error)")
    }

    private func failAll(_ reason: String) {
        let failed = pending
        pending.removeAll()
        let closing = channel
        channel = nil
        isConnected = false
        closing?.close(promise: nil)
        if !failed.isEmpty, lastError != reason {
            logger.warning("witness unreachable", metadata: ["reason": "\(reason)"])
        }
        lastError = reason
        for entry in failed {
            completion(entry.request, .failure(WitnessLinkError(message: reason, mayHaveArrived: entry.written)), entry.sentAt)
        }
    }
}

/// Why a witness request got no usable answer.
struct WitnessLinkError: Error, CustomStringConvertible {
    var message: String
    /// The request was written to a connection: the witness may have acted on it. False
    /// only when it certainly never left this node (no connection could be made).
    var mayHaveArrived = true
    var description: String { message }
}

private final class WitnessLinkHandler: ChannelInboundHandler {
    typealias InboundIn = Reply
    private let link: WitnessLink

    init(link: WitnessLink) {
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(unwrapInboundIn(data), from: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.closed(context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.failed(context.channel, error: error)
        context.close(promise: nil)
    }
}
