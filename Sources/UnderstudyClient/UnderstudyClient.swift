public import CoreMetrics
public import Logging
public import NIOCore
public import NIOPosix
public import UnderstudyCore

/// A client for an Understudy pair: finds the primary, follows failovers, retries what is
/// safe to retry, and never reports a wrong outcome (docs/client.md).
///
/// Every decision is one of the pure values `Topology`, `CallState`, `RetryBudget`,
/// `CircuitBreaker`, `Bulkhead`, `Backoff` and `ReplyClassification`; this actor, `NodePool`
/// and `RESPConnection` only carry them out.
public actor UnderstudyClient {
    /// What the client learns about the primary, in order ("primary changed to X in epoch E").
    /// Finishes at `shutdown()`.
    public nonisolated let topologyEvents: AsyncStream<TopologyEvent>
    private let eventsContinuation: AsyncStream<TopologyEvent>.Continuation
    let configuration: Configuration
    private let logger: Logger
    private let group: any EventLoopGroup
    let clock = MonotonicClock()
    var topology: Topology
    private var budget: RetryBudget
    private let metrics: ClientMetrics
    /// Since when calls have been failing or waiting (nil while they succeed), and whether the
    /// primary changed meanwhile: the failover-recovery time.
    private var troubleSinceMilliseconds: Int64?
    private var failoverDuringTrouble = false
    /// The epoch of the last primary the client followed (nil before the first).
    private var lastPrimaryEpoch: UInt64?
    var pools: [NodeAddress: NodePool] = [:]
    var probeTask: Task<Void, Never>?
    var isShutDown = false
    /// Attempts handed to a node (past its circuit breaker and bulkhead), retries included
    /// and topology probes not: what the client's callers cost the nodes. For load tools and
    /// tests until the client has metrics.
    public private(set) var attemptsSent = 0

    /// A client for the nodes in `seeds` (`host:port` each). Nothing is connected until the
    /// first call.
    /// - Throws: `invalidArgument` if `seeds` is empty or an entry is not `host:port`.
    /// - Parameter metricsFactory: where the client's metrics go (docs/client.md,
    ///   "Metrics"); by default the process's bootstrapped `MetricsSystem`.
    public init(seeds: [String], configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "understudy.client"),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                metricsFactory: any MetricsFactory = MetricsSystem.factory) throws(UnderstudyClientError) {
        var addresses: [NodeAddress] = []
        for seed in seeds {
            guard let address = NodeAddress(parsing: seed) else {
                throw UnderstudyClientError(code: .invalidArgument, message: "seed '\(seed)' is not host:port")
            }
            addresses.append(address)
        }
        guard !addresses.isEmpty else {
            throw UnderstudyClientError(code: .invalidArgument, message: "a client needs at least one seed")
        }
        self.configuration = configuration
        self.metrics = ClientMetrics(factory: metricsFactory)
        self.logger = logger
        self.group = eventLoopGroup
        self.topology = Topology(seeds: addresses, minimumProbeIntervalMilliseconds: configuration.minimumProbeIntervalMilliseconds)
        self.budget = RetryBudget(percentOfActiveRequests: configuration.retryBudgetPercentOfActiveRequests,
                                  minimumConcurrentRetries: configuration.retryBudgetMinimumConcurrentRetries)
        (topologyEvents, eventsContinuation) = AsyncStream.makeStream(of: TopologyEvent.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// The primary the client sends writes to now, if it knows one.
    public var currentPrimary: NodeAddress? { topology.primary }

    /// The highest epoch seen in any answer.
    public var highestEpoch: UInt64 { topology.highestEpoch }

    /// Sends any command (the escape hatch) with the same routing, retries and outcome rules
    /// as the typed commands. An error reply is thrown (`serverError`), not returned.
    public func send(_ arguments: [RESPArgument], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Reply {
        guard !arguments.isEmpty else {
            throw UnderstudyClientError(code: .invalidArgument, message: "a command needs at least its name")
        }
        return try await execute(arguments.map(\.bytes), options: options)
    }

    /// Closes every connection and finishes `topologyEvents`. Calls in flight fail (a write
    /// whose request was written as `indeterminate`); later calls fail with `shutDown`.
    /// Idempotent.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        await probeTask?.value
        for pool in pools.values { await pool.shutdown() }
        eventsContinuation.finish()
        logger.debug("understudy client shut down")
    }

    /// Runs one call: attempts, interpreted by `CallState`, until it succeeds or gives up.
    func execute(_ arguments: [[UInt8]], options: CallOptions) async throws(UnderstudyClientError) -> Reply {
        guard !isShutDown else { throw UnderstudyClientError(code: .shutDown, message: "the client is shut down") }
        let traits = CommandTraits(arguments: arguments)
        if options.idempotencyKey != nil, traits.isRead || traits.carriedIdempotencyKey != nil {
            throw UnderstudyClientError(code: .invalidArgument, message: "an idempotency key is for a write that is not already wrapped in IDEMPOTENT")
        }
        let automaticKey = configuration.idempotentWrites && traits.needsIdempotencyKey
        let key = options.idempotencyKey ?? (automaticKey ? configuration.randomSource.idempotencyKey() : nil)
        let wire = key.map { CommandTraits.wrap(arguments, idempotencyKey: $0) } ?? arguments
        let route = traits.isRead ? options.readRouting.route : .primary
        var call = CallState(
            traits: traits, idempotencyKey: key, maxAttempts: configuration.maxAttempts,
            perAttemptTimeoutMilliseconds: configuration.perAttemptTimeoutMilliseconds,
            deadlineMilliseconds: clock.nowMilliseconds() + (options.deadlineMilliseconds ?? configuration.deadlineMilliseconds),
            backoff: Backoff(baseMilliseconds: configuration.backoffBaseMilliseconds, capMilliseconds: configuration.backoffCapMilliseconds),
            rediscoveryBackoffCapMilliseconds: configuration.rediscoveryBackoffCapMilliseconds)
        call.start(budget: &budget)
        defer { call.end(budget: &budget) }
        let started = clock.nowMilliseconds()
        do {
            let reply = try await runAttempts(&call, wire: wire, route: route)
            callSucceeded(startedAtMilliseconds: started)
            return reply
        } catch {
            metrics.requestFinished(result: error.code.description, durationMilliseconds: clock.nowMilliseconds() - started)
            throw error
        }
    }

    /// A call succeeded: its duration, and — if calls had been failing across a failover —
    /// how long the callers took to recover.
    private func callSucceeded(startedAtMilliseconds started: Int64) {
        let now = clock.nowMilliseconds()
        metrics.requestFinished(result: "ok", durationMilliseconds: now - started)
        if let since = troubleSinceMilliseconds, failoverDuringTrouble { metrics.recovered(afterMilliseconds: now - since) }
        troubleSinceMilliseconds = nil
        failoverDuringTrouble = false
    }

    /// The call's attempts, until one succeeds or the call gives up.
    private func runAttempts(_ call: inout CallState, wire: [[UInt8]], route: Topology.Route) async throws(UnderstudyClientError) -> Reply {
        var attemptIndex = 0
        while true {
            guard let timeout = call.attemptTimeoutMilliseconds(nowMilliseconds: clock.nowMilliseconds()) else {
                throw call.deadlinePassed()
            }
            let now = clock.nowMilliseconds()
            if topology.node(for: route, attemptIndex: attemptIndex, nowMilliseconds: now) == nil
                || (attemptIndex == 0 && topology.wantsFreshLag(for: route, nowMilliseconds: now)) {
                await refreshTopology(withinMilliseconds: timeout)
            }
            let node = topology.node(for: route, attemptIndex: attemptIndex, nowMilliseconds: clock.nowMilliseconds())
            let outcome = await attempt(wire, on: node, timeoutMilliseconds: timeout)
            var step = call.attemptFinished(outcome, on: node, nowMilliseconds: clock.nowMilliseconds(),
                                            randomValue: configuration.randomSource.next(), budget: &budget)
            if case .succeed = step {} else if troubleSinceMilliseconds == nil { troubleSinceMilliseconds = clock.nowMilliseconds() }
            while case .waitForRetryBudget(let delay, let probe) = step {
                metrics.waitedForTheRetryBudget()
                do {
                    try await Task.sleep(for: .milliseconds(delay))
                } catch {
                    throw call.cancelled()
                }
                step = call.budgetWaitEnded(probe: probe, nowMilliseconds: clock.nowMilliseconds(), budget: &budget)
            }
            switch step {
            case .succeed(let reply):
                return reply
            case .fail(let error):
                logger.debug("call failed", metadata: ["error": "\(error)", "attempts": "\(call.finishedAttempts)"])
                throw error
            case .retry(let delay, let probe):
                metrics.retryStarted()
                if probe, let remaining = call.attemptTimeoutMilliseconds(nowMilliseconds: clock.nowMilliseconds()) {
                    await refreshTopology(withinMilliseconds: remaining)
                }
                do {
                    try await Task.sleep(for: .milliseconds(delay))
                } catch {
                    throw call.cancelled()
                }
            case .waitForRetryBudget:
                fatalError("Internal inconsistency: the budget wait loop ended on another wait")
            }
            attemptIndex += 1
        }
    }

    /// One attempt on `node`, and what its answer says about the topology.
    private func attempt(_ arguments: [[UInt8]], on node: NodeAddress?, timeoutMilliseconds: Int64) async -> CallState.AttemptOutcome {
        guard let node else {
            return .noRoute(reason: "no primary known among \(topology.nodes.map(\.description).joined(separator: ", "))")
        }
        let outcome = await pool(for: node).attempt(arguments, timeoutMilliseconds: timeoutMilliseconds)
        if case .rejected = outcome {} else {
            attemptsSent += 1
            metrics.attemptSent()
        }
        if case .classified(.notExecuted(_, let redirect?)) = outcome {
            publish(topology.receive(redirect, from: node))
        }
        return outcome
    }

    func pool(for node: NodeAddress) -> NodePool {
        if let pool = pools[node] { return pool }
        let pool = NodePool(node: node, group: group, configuration: configuration, clock: clock, metrics: metrics)
        pools[node] = pool
        return pool
    }

    func publish(_ events: [TopologyEvent]) {
        for event in events {
            switch event.kind {
            case .staleAnswerIgnored:
                logger.debug("\(event)", metadata: ["highest_epoch": "\(topology.highestEpoch)"])
            case .primaryChanged:
                logger.info("\(event)")
                // A change from a primary already known is a failover (or a switchover).
                if let known = lastPrimaryEpoch, event.epoch > known {
                    metrics.failoverSeen()
                    if troubleSinceMilliseconds != nil { failoverDuringTrouble = true }
                }
                lastPrimaryEpoch = max(lastPrimaryEpoch ?? 0, event.epoch)
            default:
                logger.info("\(event)")
            }
            eventsContinuation.yield(event)
        }
    }
}
