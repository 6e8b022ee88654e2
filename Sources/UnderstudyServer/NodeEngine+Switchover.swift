import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// Why a switchover did not happen (the node stays primary and serves the held requests).
struct HandoverError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Planned switchover: `DataNode` decides every step; the engine holds the requests that
/// arrive meanwhile (never failing them), sends the `HANDOVER` frame, and runs the held
/// requests when it ends — here as on any standby: reads are served, writes get
/// `-READONLY … primary=<new primary>`.
extension NodeEngine {
    var isHandingOver: Bool { readNode { $0.isHandingOver } }

    func holdForHandover(_ handler: ClientHandler) {
        replication.heldForHandover[ObjectIdentifier(handler)] = handler
    }

    /// SIGTERM on a primary whose standby can take over (the node says when): hand over
    /// first, so that stopping costs clients a pause of milliseconds instead of a failover.
    /// The future completes either way; a failed hand-over is logged and the shutdown goes on.
    func handOverBeforeShutdown(timeoutMilliseconds: Int64 = NodeLimits.standard.shutdownHandoverTimeoutMilliseconds) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard node.handsOverOnShutdown else {
            promise.succeed()
            return promise.futureResult
        }
        logger.notice("shutting down the primary: handing over to the standby first")
        beginHandover(timeoutMilliseconds: timeoutMilliseconds, leaving: true) { _ in promise.succeed() }
        return promise.futureResult
    }

    /// Starts a switchover to the standby; `completion` runs once, on the event loop.
    func beginHandover(to candidate: String? = nil, timeoutMilliseconds: Int64, leaving: Bool = false,
                       completion: @escaping (Result<String, HandoverError>) -> Void) {
        let now = WallClock.monotonicMilliseconds()
        switch node.beginSwitchover(to: candidate, timeoutMilliseconds: timeoutMilliseconds, leaving: leaving, nowMilliseconds: now) {
        case .failure(let refusal):
            completion(.failure(HandoverError(message: refusal.message)))
        case .success(let actions):
            replication.switchoverCompletion = completion
            replication.switchoverStartedAtMilliseconds = now
            scheduleFlush()
            perform(actions)
        }
    }

    /// `.sendHandover`: the witness recorded the standby as primary of `newEpoch`; tell it,
    /// and close the link once the frame is out (the node has already let go of it).
    func handOverStream(epoch frameEpoch: Epoch, newEpoch: Epoch) {
        guard let link = replication.standbyChannel else { return }
        replication.standbyChannel = nil
        replication.standbyReader = nil
        var buffer = link.channel.allocator.buffer(capacity: 24)
        buffer.writeReplicationFrame(.handover(epoch: frameEpoch, newEpoch: newEpoch))
        link.channel.writeAndFlush(buffer).whenComplete { _ in link.channel.close(promise: nil) }
    }

    /// `.switchoverEnded`: report the outcome and run the held requests.
    func endHandover(_ outcome: OperatorOutcome) {
        let completion = replication.switchoverCompletion
        replication.switchoverCompletion = nil
        let pause = WallClock.monotonicMilliseconds() - replication.switchoverStartedAtMilliseconds
        if case .done(let primary) = outcome {
            metrics.failovers.switchoverEnded(done: true)
            logger.notice("switchover done: following the new primary", metadata: ["primary": "\(primary)", "pause_ms": "\(pause)"])
        } else {
            metrics.failovers.switchoverEnded(done: false)
        }
        completion?(Self.result(of: outcome))
        let held = replication.heldForHandover
        replication.heldForHandover = [:]
        for handler in held.values { handler.resumeAfterHandover() }
    }
}
