public import Logging
import CoreMetrics
import NIOCore
import NIOPosix
import NIOSSL
public import ServiceLifecycle
public import UnderstudyCore
import UnderstudyStorage
public import UnderstudyWire

/// What `understudy witness` needs to start.
public struct WitnessConfiguration: Sendable {
    public var dataDirectory: String
    public var host: String
    public var port: Int
    /// The two data nodes' `--listen` addresses, in `--nodes` order.
    public var nodes: [String]
    /// Renders the process's Prometheus exposition (`MetricsExposition.render`): answered
    /// to `METRICS`, served at `/metrics`. Nil: metrics are not exposed.
    public var metricsExposition: (@Sendable () -> [UInt8])?
    /// The Sentinel master name clients ask for (`--cluster-name`).
    public var clusterName = "understudy"
    /// `--cluster-secret-file`: when set, `WITNESS` requests other than STATUS are taken only
    /// on a connection whose node proved this secret (docs/security.md, "Peer authentication").
    public var clusterSecret: ClusterSecret?
    /// A node the witness has not heard from for longer than this is `s_down` to Sentinel clients.
    public var sentinelDownAfterMilliseconds: Int64 = 1_000
    /// A Sentinel subscriber with more unsent bytes than this is dropped (its connection closed).
    public var maxSubscriberPendingBytes = 1 << 20
    /// Called once with the bound port (in-process tests bind port 0).
    var onListening: (@Sendable (_ port: Int) -> Void)?
    /// `--admin HOST:PORT`: the admin HTTP port (nil: none).
    public var adminAddress: ListenAddress?
    /// `--tls-*`: the witness port speaks only TLS (nil: plaintext).
    public var tls: TLSContexts?

    public init(dataDirectory: String, host: String, port: Int, nodes: [String]) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.nodes = nodes
    }
}

/// The witness process: holds only the `WitnessRecord` (persisted with fsync before any
/// reply that depends on it) and answers `WITNESS ...` commands over RESP, so it also
/// answers `redis-cli -p <port> WITNESS STATUS` and `PING`.
///
/// One event loop owns the `Witness` state machine; the record is small, so it is written
/// and fsynced on that loop: a request waits for the one before it to be durable.
public struct WitnessService: Service {
    public let configuration: WitnessConfiguration
    public let logger: Logger

    public init(configuration: WitnessConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let lock = try DataDirectoryLock.acquire(dataDirectory: configuration.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        let record = try loadRecord()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let hub = SentinelHub(masterName: configuration.clusterName, myID: Self.makeSentinelID(),
                              downAfterMilliseconds: configuration.sentinelDownAfterMilliseconds, logger: logger)
        let state = WitnessState(
            witness: Witness(nodes: configuration.nodes, record: record, nowMilliseconds: WallClock.monotonicMilliseconds(),
                             newClusterID: Self.makeClusterID()),
            dataDirectory: configuration.dataDirectory, sentinel: hub, logger: logger,
            metrics: WitnessMetrics(factory: MetricsSystem.factory))
        let pendingBytes = configuration.maxSubscriberPendingBytes
        let tls = configuration.tls
        logger.info("witness record loaded", metadata: [
            "dir": "\(configuration.dataDirectory)", "record": "\(record?.text ?? "none: a new cluster")",
            "nodes": "\(configuration.nodes.joined(separator: ","))",
        ])
        let serverChannel: any Channel
        do {
            serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: pendingBytes / 2, high: pendingBytes))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.serverContext))
                        }
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(RESPCommandDecoder(limits: RESPLimits())),
                            WitnessHandler(
                                state: state, metricsExposition: configuration.metricsExposition,
                                sentinel: SentinelConnection(hub: hub, channel: channel, clientID: hub.nextClientID()),
                                peerHandshake: configuration.clusterSecret.map {
                                    PeerAuthResponder(authenticator: PeerAuthenticator(secret: $0), serverName: "witness",
                                                      allowedLinks: [.witness])
                                }))
                    }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try await group.shutdownGracefully()
            throw ServerStartError(message: "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let port = serverChannel.localAddress?.port ?? configuration.port
        logger.info("witness ready", metadata: ["listen": "\(configuration.host):\(port)", "tls": "\(tls == nil ? "off" : "on")"])
        let adminChannel = try await startAdmin(group: group, state: state, loop: serverChannel.eventLoop)
        configuration.onListening?(port)
        // Silence is an event too (a node stops being heard): look again at a tenth of down-after.
        let sentinelTick = serverChannel.eventLoop.scheduleRepeatedTask(
            initialDelay: .zero, delay: .milliseconds(max(10, configuration.sentinelDownAfterMilliseconds / 10))
        ) { _ in state.publishSentinelView() }
        defer { sentinelTick.cancel() }
        try await withGracefulShutdownHandler {
            try await serverChannel.closeFuture.get()
        } onGracefulShutdown: {
            serverChannel.close(promise: nil)
        }
        try await adminChannel?.close()
        try await group.shutdownGracefully()
        if let failure = state.persistFailure {
            throw ServerStartError(message: "the witness stopped: \(failure)")
        }
        logger.info("witness stopped")
    }

    /// The identity a cluster bootstrapped by this witness gets: 128 bits of system randomness.
    private static func makeClusterID() -> String {
        var random = SystemRandomNumberGenerator()
        return ClusterIdentity.make(random.next(), random.next())
    }

    /// The Sentinel ID clients see (`SENTINEL MYID`): 40 hex characters of system randomness.
    private static func makeSentinelID() -> String {
        var random = SystemRandomNumberGenerator()
        return (0..<40).map { _ in String(random.next(upperBound: UInt8(16)), radix: 16) }.joined()
    }

    private func loadRecord() throws -> WitnessRecord? {
        guard let bytes = try DurableStateFile.witnessRecord.read(dataDirectory: configuration.dataDirectory) else { return nil }
        return try WitnessRecord(text: String(decoding: bytes, as: UTF8.self))
    }
}

/// The witness state machine and its file, owned by the witness's one event loop.
final class WitnessState: @unchecked Sendable {
    private(set) var witness: Witness
    /// When each node was last heard: its health as Sentinel clients see it.
    private var contacts: WitnessContacts
    let sentinel: SentinelHub
    private let dataDirectory: String
    private let logger: Logger
    private let metrics: WitnessMetrics
    let startedAtMonotonicMilliseconds = WallClock.monotonicMilliseconds()
    /// Epochs granted, primaries changed, sync state recorded, nodes down and up: for `/events`.
    private(set) var events = EventLog()
    /// Set when the record could not be made durable: from then on every request is
    /// refused, since an answer could depend on a vote a restart would forget.
    private(set) var persistFailure: String?

    init(witness: Witness, dataDirectory: String, sentinel: SentinelHub, logger: Logger, metrics: WitnessMetrics) {
        self.witness = witness
        self.contacts = WitnessContacts(nodes: witness.nodes, startedAtMilliseconds: WallClock.monotonicMilliseconds())
        self.sentinel = sentinel
        self.dataDirectory = dataDirectory
        self.logger = logger
        self.metrics = metrics
        metrics.loaded(witness.record)
    }

    func handle(_ request: WitnessRequest) -> Reply {
        if let persistFailure { return .error("ERR the witness cannot persist its record: \(persistFailure)") }
        let before = witness.record
        let now = WallClock.monotonicMilliseconds()
        contacts.heard(request, member: witness.member, nowMilliseconds: now)
        let response = witness.handle(request, nowMilliseconds: now)
        if let record = response.persist {
            do {
                try DurableStateFile.witnessRecord.write(Array(record.text.utf8), dataDirectory: dataDirectory)
            } catch {
                persistFailure = "\(error)"
                logger.critical("cannot persist the witness record; refusing every request", metadata: ["error": "\(error)"])
                return .error("ERR the witness cannot persist its record: \(error)")
            }
            logger.notice("witness record changed", metadata: [
                "from": "\(before?.text ?? "none")", "to": "\(record.text)",
            ])
            recordAll(NodeEvent.witnessChanges(from: before, to: record))
        }
        metrics.handled(request, reply: response.reply, before: before, after: witness.record)
        publishSentinelView()
        let line = response.reply.line
        return line.isError ? .error(line.text) : .simple(line.text)
    }

    /// Publishes to Sentinel subscribers what changed since the last view, and keeps a node
    /// going down or coming back as an event (`node_down`, `node_up`): only what is durable,
    /// so nothing once a record could not be persisted.
    /// A `WITNESS` request or a peer handshake refused for want of the cluster secret.
    func peerRefused(address: String, reason: String, request: String) {
        metrics.peerAuthRefused()
        logger.warning("refused an unauthenticated peer", metadata: [
            "peer": "\(address)", "request": "\(request)", "reason": "\(reason)",
        ])
    }

    func publishSentinelView() {
        guard persistFailure == nil else { return }
        let changes = sentinel.publish(SentinelView(
            masterName: sentinel.masterName, record: witness.record, lastReport: witness.lastReport, contacts: contacts,
            downAfterMilliseconds: sentinel.downAfterMilliseconds, nowMilliseconds: WallClock.monotonicMilliseconds()))
        recordAll(NodeEvent.witnessHealth(changes, epoch: witness.record?.epoch, downAfterMilliseconds: sentinel.downAfterMilliseconds))
    }

    private func recordAll(_ new: [NodeEvent]) {
        for event in new {
            events.record(event, unixMilliseconds: WallClock.nowMilliseconds(), logger: logger)
        }
    }

    /// `INFO`-style lines for humans and `understudy status`.
    func info() -> String {
        let now = WallClock.monotonicMilliseconds()
        var lines = ["# Witness", "role:witness", "nodes:\(witness.nodes.joined(separator: ","))"]
        if let record = witness.record {
            lines += [
                "epoch:\(record.epoch)", "primary:\(record.primary ?? "")", "standby:\(record.standby ?? "")",
                "standby_in_sync:\(record.standbyInSync ? 1 : 0)", "mode:\(record.mode.rawValue)",
                "lease_ms:\(record.leaseMilliseconds)",
            ]
        } else {
            lines.append("epoch:0")
        }
        lines.append("promise_remaining_ms:\(max(0, witness.promisedUntilMilliseconds - now))")
        if let report = witness.lastReport {
            lines += [
                "primary_last_written_lsn:\(report.lastWrittenLSN)",
                "standby_durable_lsn:\(report.standbyDurableLSN.map { "\($0)" } ?? "")",
                "standby_lag_bytes:\(report.standbyLagBytes.map { "\($0)" } ?? "")",
            ]
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// One connection to the witness: a node's or an operator's.
final class WitnessHandler: ChannelInboundHandler {
    typealias InboundIn = Command
    typealias OutboundOut = ByteBuffer
    let state: WitnessState
    private let metricsExposition: (@Sendable () -> [UInt8])?
    private let sentinel: SentinelConnection
    /// The server's end of the peer handshake (nil: no `--cluster-secret-file`, every
    /// request is taken as before). See WitnessHandler+PeerAuth.swift.
    var peerHandshake: PeerAuthResponder?
    /// The one place that says "this connection is a cluster member" (it proved the secret).
    var isAuthenticatedPeer = false

    init(state: WitnessState, metricsExposition: (@Sendable () -> [UInt8])?, sentinel: SentinelConnection,
         peerHandshake: PeerAuthResponder? = nil) {
        self.state = state
        self.metricsExposition = metricsExposition
        self.sentinel = sentinel
        self.peerHandshake = peerHandshake
    }

    func channelInactive(context: ChannelHandlerContext) {
        sentinel.closed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let command = unwrapInboundIn(data)
        if peerHandshake != nil, answeredAsPeerOnly(command, context: context) { return }
        if let replies = sentinel.answer(command) {
            var buffer = context.channel.allocator.buffer(capacity: 64)
            for reply in replies { buffer.writeRESPReply(reply, protocol: sentinel.protocolVersion) }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return
        }
        let reply: Reply
        var close = false
        switch command.name {
        case "witness":
            do {
                reply = state.handle(try WitnessRequest(arguments: command.arguments))
            } catch {
                reply = .error("ERR bad WITNESS request: \(error)")
            }
        case "ping":
            reply = .simple("PONG")
        case "info":
            reply = .bulk(Array(state.info().utf8))
        case "metrics":
            reply = metricsExposition.map { .bulk($0()) } ?? .error("ERR metrics are not enabled in this process")
        case "quit":
            reply = .simple("OK")
            close = true
        default:
            reply = .error("ERR unknown command '\(String(decoding: command.arguments.first ?? [], as: UTF8.self).prefix(64))': this is an understudy witness (WITNESS, SENTINEL, SUBSCRIBE, PING, INFO, METRICS, QUIT)")
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeRESPReply(reply, protocol: sentinel.protocolVersion)
        let written = context.writeAndFlush(wrapOutboundOut(buffer))
        if close {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let protocolError = error as? RESPProtocolError {
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeRESPReply(.error(protocolError.message))
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }
}
