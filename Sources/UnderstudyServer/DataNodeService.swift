public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import ServiceLifecycle
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// A standalone data node as a swift-service-lifecycle `Service`: recovers the data
/// directory, serves RESP2 and RESP3 clients, and on graceful shutdown stops accepting, finishes
/// in-flight requests, makes the log durable and returns.
public struct DataNodeService: Service {
    public let configuration: ServerConfiguration
    public let logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let lock = try DataDirectoryLock.acquire(dataDirectory: configuration.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        try await serve()
    }

    private func serve() async throws {
        // A replicated node's records exist on its peer: damage in its files is set aside
        // (never deleted) and it catches up from the primary; a lone node refuses to start.
        let recovered = configuration.replication == nil
            ? try Recovery.recover(dataDirectory: configuration.dataDirectory, logger: logger)
            : try Recovery.recoverSettingAsideDamage(dataDirectory: configuration.dataDirectory, logger: logger)
        let wal = try WALWriter.open(
            dataDirectory: configuration.dataDirectory, after: recovered,
            configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
        // The first segment is preallocated before serving; the engine prepares later ones
        // ahead of need, off its loop.
        if let preparation = wal.makePreparationJob() {
            let outcome = Result { try preparation.run() }
            if case .failure(let error) = outcome {
                logger.warning("Preparing the first WAL segment failed; it grows by appending instead: \(error)")
            }
            wal.preparationFinished(outcome)
        }
        logger.info("recovered data directory", metadata: [
            "dir": "\(configuration.dataDirectory)", "keys": "\(recovered.keyspace.count)",
            "last_lsn": "\(recovered.lastLSN)", "snapshot_lsn": "\(recovered.snapshotLSN)",
        ])

        // One event loop owns the keyspace (as Redis's one thread does); fdatasync and
        // snapshots run on their own threads.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let history = try loadEpochHistory(lastLSN: recovered.lastLSN)
        let engine = NodeEngine(
            eventLoop: loop, configuration: configuration, recovered: recovered, wal: wal, history: history,
            logger: logger)
        let timers = startTimers(engine: engine, on: loop)

        let serverChannel: any Channel
        let adminChannel: (any Channel)?
        do {
            // The admin port first: a probe sees `starting` (503) until the node has a role.
            adminChannel = try await startAdmin(group: group, engine: engine)
            serverChannel = try await makeBootstrap(group: group, engine: engine)
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            timers.forEach { $0.cancel() }
            try await engine.shutdownThreads()
            try await group.shutdownGracefully()
            throw error as? ServerStartError ?? ServerStartError(message: "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let boundPort = serverChannel.localAddress?.port ?? configuration.port
        logger.info("ready to accept connections", metadata: [
            "listen": "\(configuration.host):\(boundPort)", "fsync": "\(configuration.fsyncPolicy.rawValue)",
            "tls": "\(configuration.tls.map { "on, auth-clients \($0.settings.authClients.rawValue)" } ?? "off")",
        ])
        try await loop.submit {
            engine.listeningPort = boundPort
            // `understudy drain` takes the same path as SIGTERM: the listener closes.
            engine.onDrainRequested = { serverChannel.close(promise: nil) }
        }.get()
        configuration.onListening?(boundPort)

        try await withGracefulShutdownHandler {
            try await serverChannel.closeFuture.get()
        } onGracefulShutdown: {
            // Health turns 503 first, then the listener closes.
            loop.execute { engine.requestDrain(source: "SIGTERM") }
        }
        try await loop.submit { engine.requestDrain(source: "client listener closed") }.get()

        try await loop.flatSubmit { engine.handOverBeforeShutdown() }.get()
        logger.info("shutting down: finishing in-flight requests and syncing the log")
        try await loop.flatSubmit { engine.drain() }.get()
        timers.forEach { $0.cancel() }
        try await engine.shutdownThreads()
        let finalLSN = try await loop.submit { engine.durableLSN }.get()
        // The admin port answers 503 until here, so probes see the drain, not a refusal —
        // and for a moment longer, so that a probe polling every few hundred milliseconds
        // sees it too, even when the drain itself took only milliseconds.
        if let adminChannel {
            try await Task.sleep(for: .milliseconds(NodeLimits.standard.drainHealthLingerMilliseconds))
            try await adminChannel.close()
        }
        try await group.shutdownGracefully()
        logger.info("stopped", metadata: ["durable_lsn": "\(finalLSN)"])
    }

    /// `--admin`: the admin HTTP port on the node's group (its handlers hop to the node's loop).
    private func startAdmin(group: MultiThreadedEventLoopGroup, engine: NodeEngine) async throws -> (any Channel)? {
        guard let address = configuration.adminAddress else { return nil }
        let backend = NodeAdminBackend(engine: engine, metricsExposition: configuration.metricsExposition)
        let channel = try await AdminServer.start(host: address.host, port: address.port, group: group, backend: backend)
        logger.info("admin HTTP ready", metadata: ["admin": "\(address.host):\(channel.localAddress?.port ?? address.port)"])
        return channel
    }

    /// The node's epoch history from `DIR/epochs`; a new node starts at epoch 1 and
    /// persists that before it serves.
    ///
    /// `DataNode.bootHistory` decides what of it stands (with a witness, nothing beyond the
    /// log's end); a trimmed history is persisted before the node serves.
    private func loadEpochHistory(lastLSN: LSN) throws -> EpochHistory {
        if let bytes = try DurableStateFile.epochHistory.read(dataDirectory: configuration.dataDirectory) {
            let history = try EpochHistory(decoding: bytes)
            let trimmed = DataNode.bootHistory(history, lastLSN: lastLSN, coordinated: configuration.replication?.witness != nil)
            if trimmed != history {
                logger.notice("epoch history trimmed to the log's end", metadata: ["from": "\(history)", "to": "\(trimmed)", "last_lsn": "\(lastLSN)"])
                try DurableStateFile.epochHistory.write(trimmed.encode(), dataDirectory: configuration.dataDirectory)
            }
            return trimmed
        }
        let history = EpochHistory()
        try DurableStateFile.epochHistory.write(history.encode(), dataDirectory: configuration.dataDirectory)
        return history
    }

    private func makeBootstrap(group: MultiThreadedEventLoopGroup, engine: NodeEngine) -> ServerBootstrap {
        let limits = configuration.wireLimits
        let tls = configuration.tls
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that vanished without a FIN (power loss, a dropped NAT entry) is found by
            // TCP keepalive even with --idle-timeout 0 (after the kernel's tcp_keepalive_time).
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.serverContext))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPCommandDecoder(limits: limits)),
                        ClientHandler(engine: engine, allocator: channel.allocator)
                    )
                }
            }
    }

    private func startTimers(engine: NodeEngine, on loop: any EventLoop) -> [RepeatedTask] {
        var timers = [
            loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(configuration.expiryCycleIntervalMilliseconds),
                delay: .milliseconds(configuration.expiryCycleIntervalMilliseconds)
            ) { _ in engine.runExpiryCycle() },
        ]
        if let replication = configuration.replication {
            timers.append(loop.scheduleRepeatedTask(
                initialDelay: .zero, delay: .milliseconds(replication.heartbeatIntervalMilliseconds)
            ) { _ in engine.replicationTick() })
        } else {
            // A standalone node has no tick: its gauges are set once a second.
            timers.append(loop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                engine.updateMetricGauges()
            })
        }
        if configuration.fsyncPolicy == .everysec {
            timers.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                engine.runEverySecondSync()
            })
        }
        return timers
    }
}

/// The node could not start serving (the data directory was fine, the socket was not).
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
