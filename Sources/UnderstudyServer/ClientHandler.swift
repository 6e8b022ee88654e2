import Logging
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// One client connection: dispatches decoded commands and sends replies in order, each only
/// once the log is as durable as the node's fsync policy requires.
///
/// Bulkheads (ClientHandler+Limits.swift): the handler stops reading from the socket while
/// `--max-inflight-per-connection` requests are unanswered; it closes a connection whose
/// unsent replies pass `--client-output-buffer-limit`, or that sent nothing for `--idle-timeout`.
final class ClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Command
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let engine: NodeEngine
    var session: ClientSession
    private(set) var context: ChannelHandlerContext?
    /// Replies encoded and not yet handed to the channel (flushed at the end of each read).
    var output: ByteBuffer
    private(set) var held: HeldReplies
    /// Reply bytes the channel had not handed to the kernel at the last flush.
    var bufferedWritableBytes = 0
    /// When the last request was read (the event loop's clock), for `--idle-timeout`.
    var lastRequestAt = NIODeadline.uptimeNanoseconds(0)
    var idleTimer: Scheduled<Void>?
    private var readDeferred = false
    var isClosing = false
    /// A WAIT is pending: later requests are kept, in order, until it is answered.
    var waitPending = false
    /// A planned switchover holds this connection's keyspace requests (not fails them):
    /// this one and those after it wait in `deferredCommands` until it ends.
    private(set) var handoverPaused = false
    private(set) var deferredCommands: [Command] = []
    private var closePromise: EventLoopPromise<Void>?
    /// The node stopped being primary: take no new requests, and close once every request
    /// already taken has its answer (`closeWhenAnswered`).
    private var closesWhenAnswered = false

    init(engine: NodeEngine, allocator: ByteBufferAllocator) {
        self.engine = engine
        self.session = ClientSession()
        self.output = allocator.buffer(capacity: 256)
        self.held = HeldReplies(allocator: allocator)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopIdleTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        let id: Int64
        switch engine.clientConnected(self) {
        case .success(let clientID):
            id = clientID
        case .failure(let refusal):
            var buffer = context.channel.allocator.buffer(capacity: 48)
            buffer.writeRESPReply(.error(refusal.message))
            isClosing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        session.id = id
        session.connectedAtMonotonicMilliseconds = WallClock.monotonicMilliseconds()
        session.remoteAddress = context.remoteAddress?.description ?? "?"
        startAuthentication(remoteAddress: context.remoteAddress)
        startIdleTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopIdleTimer()
        engine.clientDisconnected(self)
        closePromise?.succeed()
        closePromise = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing, !closesWhenAnswered else { return }
        let command = unwrapInboundIn(data)
        // Only the idle timer reads it: no clock read per request without `--idle-timeout`.
        if idleTimer != nil { lastRequestAt = context.eventLoop.now }
        guard !waitPending, !handoverPaused else {
            deferredCommands.append(command)
            return
        }
        process(command, context: context)
    }

    private func process(_ command: Command, context: ChannelHandlerContext) {
        if engine.configuration.clusterSecret != nil, handlePeerAuthentication(command, context: context) { return }
        if let refusal = accessRefusal(for: command) {
            enqueue(refusal, requiredLSN: .zero)
            return
        }
        if command.arguments.count >= 7, held.isEmpty, command.name == "replicate" {  // count first: `name` allocates
            becomeReplicationLink(command, context: context)
            return
        }
        if engine.isHandingOver, CommandTable.spec(named: command.name)?.handler == .keyspace {
            handoverPaused = true
            deferredCommands.insert(command, at: 0)
            engine.holdForHandover(self)
            return
        }
        let (reply, requiredLSN) = dispatch(command)
        if waitPending { return }  // WAIT answers later, through `completeWait`
        enqueue(reply, requiredLSN: requiredLSN)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushOutput()
        if isClosing, held.isEmpty { context.close(promise: nil) }
        closeIfAnswered()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let protocolError = error as? RESPProtocolError {
            engine.statistics.protocolErrors += 1
            if Self.limitCodes.contains(protocolError.code) { engine.metrics.refused(.limits) }
            engine.logger.debug("protocol error; closing connection", metadata: [
                "client": "\(session.remoteAddress)", "error": "\(protocolError.message)",
            ])
            enqueue(.error(protocolError.message), requiredLSN: .zero)
            isClosing = true
            flushOutput()
            if held.isEmpty { context.close(promise: nil) }
            return
        }
        engine.logger.debug("connection error", metadata: ["client": "\(session.remoteAddress)", "error": "\(error)"])
        context.close(promise: nil)
    }

    /// Protocol errors that are a request over a `RESPLimits` size limit, not malformed bytes.
    static let limitCodes: Set<RESPProtocolError.Code> = [
        .inlineTooLong, .lengthLineTooLong, .bulkTooLarge, .tooManyArguments, .requestTooLarge,
    ]

    /// A standby's `REPLICATE`: answer it and, when the primary streams, hand this
    /// connection over to replication frames (the standby sends nothing until it reads the
    /// answer, so no request bytes are left behind).
    private func becomeReplicationLink(_ command: Command, context: ChannelHandlerContext) {
        let (reply, accepted) = engine.standbyHandshake(command, channel: context.channel)
        output.writeRESPReply(reply)
        flushOutput()
        guard accepted else {
            isClosing = true
            context.close(promise: nil)
            return
        }
        engine.clientDisconnected(self)
        let pipeline = context.pipeline.syncOperations
        do {
            let decoder = try pipeline.handler(type: ByteToMessageHandler<RESPCommandDecoder>.self)
            try pipeline.addHandlers(
                [ByteToMessageHandler(ReplicationFrameDecoder()), PrimaryLinkHandler(engine: engine)],
                position: .after(self))
            pipeline.removeHandler(decoder, promise: nil)
            pipeline.removeHandler(self, promise: nil)
        } catch {
            engine.logger.error("cannot turn the connection into a replication link", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Back-pressure

    /// Not read from while `--max-inflight-per-connection` requests wait for an answer.
    /// Whether the socket is writable does not matter: unsent replies are bounded by
    /// `--client-output-buffer-limit` instead (see ClientHandler+Limits.swift).
    func read(context: ChannelHandlerContext) {
        if hasInflightRoom {
            context.read()
        } else {
            readDeferred = true
        }
    }

    private func resumeReadingIfDeferred() {
        guard readDeferred, let context, hasInflightRoom else { return }
        readDeferred = false
        context.read()
    }

    // MARK: Replies

    /// Queues a reply behind earlier ones; it is sent once `visibleLSN` covers `requiredLSN`.
    func enqueue(_ reply: Reply, requiredLSN: LSN) {
        if held.isEmpty, requiredLSN <= engine.visibleLSN {
            output.writeRESPReply(reply, protocol: session.protocolVersion)
            enforceOutputBufferLimit()
        } else {
            held.append(reply, requiredLSN: requiredLSN, protocol: session.protocolVersion)
            engine.waitForVisibility(self)
        }
    }

    private func flushOutput() {
        guard let context, output.readableBytes > 0 else { return }
        let bytes = output
        output = context.channel.allocator.buffer(capacity: 256)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        noteBufferedWritableBytes(context: context)
    }

    /// Called by the engine when `visibleLSN` advanced to `lsn`.
    func releaseReplies(upTo lsn: LSN) {
        if let released = held.release(upTo: lsn) {
            output.writeImmutableBuffer(released)
            flushOutput()
        }
        afterRelease()
    }

    /// Called by the engine when the log failed: replies that needed records after `lsn`
    /// are answered with `message` instead.
    func failReplies(after lsn: LSN, message: String) {
        let (released, failedCount) = held.fail(after: lsn)
        if let released { output.writeImmutableBuffer(released) }
        for _ in 0..<failedCount { output.writeRESPReply(.error(message)) }
        flushOutput()
        afterRelease()
    }

    /// The pending WAIT is answered: send its reply, then run the requests that waited.
    func completeWait(replicas: Int) {
        completeDeferred(.integer(Int64(replicas)))
    }

    /// A request answered later (WAIT, FAILOVER, PROMOTE) has its reply: send it, then run
    /// the requests that waited behind it.
    func completeDeferred(_ reply: Reply) {
        guard waitPending, let context else { return }
        waitPending = false
        enqueue(reply, requiredLSN: .zero)
        while !waitPending, !isClosing, !deferredCommands.isEmpty {
            process(deferredCommands.removeFirst(), context: context)
        }
        flushOutput()
        resumeReadingIfDeferred()
        closeIfAnswered()
    }

    /// The switchover ended: run the requests it held, in order (on a node that became a
    /// standby, writes now get READONLY naming the new primary).
    func resumeAfterHandover() {
        guard handoverPaused, let context else { return }
        handoverPaused = false
        while !waitPending, !handoverPaused, !isClosing, !deferredCommands.isEmpty {
            process(deferredCommands.removeFirst(), context: context)
        }
        flushOutput()
        resumeReadingIfDeferred()
        closeIfAnswered()
    }

    /// Called by the engine when records timed out waiting for the standby: replies that
    /// need LSNs in `after+1 ... through` are answered with `message`.
    func failReplies(after: LSN, through: LSN, message: String) {
        if let released = held.release(upTo: through, failingAbove: after, message: message) {
            output.writeImmutableBuffer(released)
            flushOutput()
        }
        afterRelease()
    }

    private func afterRelease() {
        if !held.isEmpty {
            engine.waitForVisibility(self)
        } else if isClosing {
            context?.close(promise: nil)
        }
        resumeReadingIfDeferred()
        closeIfAnswered()
    }

    /// The node stopped being primary (`NodeEngine.closeClientConnections`): this
    /// connection takes no new requests and closes as soon as every request it already
    /// took has its answer — held replies released or failed (`-UNCERTAIN …`), a pending
    /// WAIT or FAILOVER answered, requests held by a switchover run — never before. Its
    /// client then reconnects and finds the primary, as after Sentinel's `CLIENT KILL TYPE
    /// normal`; a write it sends here meanwhile gets `-READONLY`.
    func closeWhenAnswered() {
        guard !isClosing else { return }
        closesWhenAnswered = true
        closeIfAnswered()
    }

    private func closeIfAnswered() {
        guard closesWhenAnswered, !isClosing, held.isEmpty, !waitPending, !handoverPaused, deferredCommands.isEmpty,
              let context else { return }
        isClosing = true
        // Once every answer is written, half-close: the client reads them all, then EOF.
        // (Closing outright while requests it sent meanwhile sit unread would reset the
        // connection, and a reset can discard answers the client has not read yet.) The
        // connection closes when the client closes its side, or after a grace period.
        let bytes = output
        output = context.channel.allocator.buffer(capacity: 0)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: Self.halfClosedGrace) { channel.close(promise: nil) }
        }
    }

    /// How long a connection closed for a demotion stays half-open for its client to read
    /// its last answers and close.
    static let halfClosedGrace = TimeAmount.seconds(2)

    /// Stops taking requests and closes once every held reply is sent (graceful shutdown).
    func closeAfterFlush() -> EventLoopFuture<Void> {
        let promise = engine.eventLoop.makePromise(of: Void.self)
        guard let context else {
            promise.succeed()
            return promise.futureResult
        }
        closePromise = promise
        isClosing = true
        flushOutput()
        if held.isEmpty { context.close(promise: nil) }
        return promise.futureResult
    }
}
