import Logging
import NIOCore
import UnderstudyCore

/// The connections to one node (a fixed number, opened on first use and reopened when they
/// close), with the node's circuit breaker and bulkhead. It interprets `CircuitBreaker` and
/// `Bulkhead`; it decides nothing about topology or retries.
actor NodePool {
    private enum Slot {
        case empty
        case connecting(EventLoopFuture<RESPConnection>)
        case ready(RESPConnection)
    }

    let node: NodeAddress
    private let group: any EventLoopGroup
    private let configuration: UnderstudyClient.Configuration
    private let clock: MonotonicClock
    private var slots: [Slot]
    private var nextSlot = 0
    private var breaker: CircuitBreaker
    private var bulkhead: Bulkhead
    private var isShutDown = false

    private let metrics: ClientMetrics

    init(node: NodeAddress, group: any EventLoopGroup, configuration: UnderstudyClient.Configuration, clock: MonotonicClock,
         metrics: ClientMetrics) {
        precondition(configuration.connectionsPerNode > 0, "a pool holds at least one connection")
        self.metrics = metrics
        self.node = node
        self.group = group
        self.configuration = configuration
        self.clock = clock
        self.slots = Array(repeating: .empty, count: configuration.connectionsPerNode)
        self.breaker = CircuitBreaker(failureThreshold: configuration.circuitBreakerFailureThreshold,
                                      coolDownMilliseconds: configuration.circuitBreakerCoolDownMilliseconds)
        self.bulkhead = Bulkhead(maxInFlightRequests: configuration.maxInFlightRequestsPerNode)
    }

    /// One attempt of a command: admission by the breaker and the bulkhead, a connection, the
    /// request, and the breaker told what happened.
    func attempt(_ arguments: [[UInt8]], timeoutMilliseconds: Int64) async -> CallState.AttemptOutcome {
        let before = breaker.stateName
        defer { if breaker.stateName != before { metrics.breakerChanged(node: node, to: breaker.stateName) } }
        let admission = breaker.admit(nowMilliseconds: clock.nowMilliseconds())
        if case .rejected(let retryAfter) = admission {
            return .rejected(.circuitOpen, message: "the circuit breaker of \(node) is open after \(breaker.failureThreshold) consecutive failures; it lets a probe through in \(retryAfter) ms")
        }
        guard bulkhead.tryEnter() else {
            breaker.abandoned(admission)
            return .rejected(.bulkheadFull, message: "\(node) already has \(bulkhead.maxInFlightRequests) requests in flight (maxInFlightRequestsPerNode)")
        }
        defer { bulkhead.leave() }
        do throws(TransportFailure) {
            let connection = try await connection(timeoutMilliseconds: timeoutMilliseconds)
            let reply = try await connection.send(arguments, timeoutMilliseconds: timeoutMilliseconds)
            breaker.succeeded(admission)
            return .classified(ReplyClassification.classify(reply))
        } catch {
            breaker.failed(admission, nowMilliseconds: clock.nowMilliseconds())
            return .classified(ReplyClassification.classify(error))
        }
    }

    /// `ROLE` and `INFO replication`, pipelined on one connection, parsed; nil if the node
    /// does not answer both within `timeoutMilliseconds`. Bypasses breaker and bulkhead: a
    /// probe is how a node that failed is found again.
    func probe(timeoutMilliseconds: Int64) async -> Topology.ProbeAnswer? {
        do {
            let connection = try await connection(timeoutMilliseconds: timeoutMilliseconds)
            async let role = connection.send([Array("ROLE".utf8)], timeoutMilliseconds: timeoutMilliseconds)
            async let info = connection.send([Array("INFO".utf8), Array("replication".utf8)], timeoutMilliseconds: timeoutMilliseconds)
            return Topology.parseProbe(node: node, role: try await role, info: try await info)
        } catch {
            return nil
        }
    }

    /// Closes every connection; later attempts are not sent.
    func shutdown() async {
        isShutDown = true
        let current = slots
        slots = Array(repeating: .empty, count: slots.count)
        for slot in current {
            switch slot {
            case .ready(let connection):
                await connection.close()
            case .connecting(let future):
                do {
                    try await future.get().close()
                } catch {
                    // The connect failed: there is nothing to close.
                }
            case .empty:
                break
            }
        }
    }

    /// The next slot's connection, connecting it (or waiting for its connect) if needed.
    private func connection(timeoutMilliseconds: Int64) async throws(TransportFailure) -> RESPConnection {
        guard !isShutDown else { throw .notSent(reason: "the client is shut down") }
        let index = nextSlot
        nextSlot = (nextSlot + 1) % slots.count
        let future: EventLoopFuture<RESPConnection>
        switch slots[index] {
        case .ready(let connection) where connection.isActive:
            return connection
        case .connecting(let pending):
            future = pending
        case .ready, .empty:
            future = RESPConnection.connect(
                to: node, group: group, timeoutMilliseconds: min(configuration.connectTimeoutMilliseconds, timeoutMilliseconds),
                maxAbandonedReplies: configuration.maxAbandonedRepliesPerConnection, tls: configuration.tls,
                authentication: RESPConnection.authenticationArguments(username: configuration.username, password: configuration.password))
            slots[index] = .connecting(future)
        }
        let connection: RESPConnection
        do {
            connection = try await future.get()
        } catch {
            if case .connecting(let pending) = slots[index], pending === future { slots[index] = .empty }
            throw .notSent(reason: "cannot connect to \(node): \(error)")
        }
        if isShutDown {
            await connection.close()
            throw .notSent(reason: "the client is shut down")
        }
        if case .connecting(let pending) = slots[index], pending === future { slots[index] = .ready(connection) }
        return connection
    }
}
