import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// A planned switchover in progress on the primary: the core's `Handover` and what the
/// shell holds for it.
struct HandoverState {
    var machine: Handover
    /// Connections whose requests are held, by identity.
    var heldClients: [ObjectIdentifier: ClientHandler] = [:]
    /// Called once with the outcome: the new primary's address, or why it did not happen.
    var completion: (Result<String, HandoverError>) -> Void
}

/// Why a switchover did not happen (the node stays primary and serves the held requests).
struct HandoverError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Planned switchover: hold new requests (never fail them), wait until the standby has
/// every record, have the witness record the standby as primary of the next epoch, tell the
/// standby, and follow it. The held requests then run here as on any standby: reads are
/// served, writes get `-READONLY … primary=<new primary>`.
extension NodeEngine {
    var isHandingOver: Bool { replication.handover != nil }

    func holdForHandover(_ handler: ClientHandler) {
        replication.handover?.heldClients[ObjectIdentifier(handler)] = handler
    }

    /// SIGTERM on a primary with an attached standby that is in sync (sync mode) or caught
    /// up enough to finish within the timeout (async): hand over first, so that stopping
    /// the primary costs clients a pause of milliseconds instead of a failover. The future
    /// completes either way; a failed hand-over is logged and the shutdown goes on.
    func handOverBeforeShutdown(timeoutMilliseconds: Int64 = NodeLimits.standard.shutdownHandoverTimeoutMilliseconds) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard let coordinator = replication.coordinator,
              Handover.handsOverOnShutdown(coordinator: coordinator, standbyAttached: replication.standbyChannel != nil) else {
            promise.succeed()
            return promise.futureResult
        }
        logger.notice("shutting down the primary: handing over to the standby first")
        beginHandover(timeoutMilliseconds: timeoutMilliseconds, leaving: true) { _ in promise.succeed() }
        return promise.futureResult
    }

    /// Starts a switchover to the standby; `completion` runs once, on the event loop.
    func beginHandover(timeoutMilliseconds: Int64, leaving: Bool = false,
                       completion: @escaping (Result<String, HandoverError>) -> Void) {
        if let refusal = Handover.refusal(
            running: replication.handover != nil, coordinated: replication.coordinator != nil,
            isPrimary: replication.coordinator?.role == .primary && replication.primary != nil,
            standbyAttached: replication.standbyChannel != nil && replication.standbyAddress != nil, logFailed: walFailure != nil) {
            completion(.failure(HandoverError(message: refusal)))
            return
        }
        replication.handover = HandoverState(
            machine: Handover(node: nodeName, epoch: replication.coordinator?.epoch ?? epoch, nowMilliseconds: WallClock.monotonicMilliseconds(),
                              timeoutMilliseconds: timeoutMilliseconds, leaving: leaving),
            completion: completion)
        logger.notice("switchover: holding new requests until the standby has every record", metadata: [
            "standby": "\(replication.standbyAddress ?? "?")", "last_lsn": "\(wal.lastAppendedLSN)", "epoch": "\(epoch)",
        ])
        scheduleFlush()
        continueHandover()
    }

    /// Moves the switchover on when it can (after durability, acknowledgements and ticks).
    func continueHandover() {
        guard replication.handover != nil else { return }
        let now = WallClock.monotonicMilliseconds()
        let primary = replication.primary
        let facts = Handover.Facts(
            isPrimary: replication.coordinator?.role == .primary && primary != nil,
            standby: replication.standbyChannel == nil ? nil : replication.standbyAddress,
            lastAppendedLSN: wal.lastAppendedLSN, lastWrittenLSN: wal.lastWrittenLSN,
            standbyDurableLSN: primary?.standbyDurableLSN, visibleLSN: visibleLSN,
            lagRecords: primary?.lag(nowMilliseconds: now).lsns ?? 0)
        perform(replication.handover!.machine.progress(nowMilliseconds: now, facts: facts))
    }

    /// Carries out a step of the switchover.
    func perform(_ step: Handover.Step) {
        switch step {
        case .wait:
            break
        case .askWitness(let request):
            performCoordination([.askWitness(request)])
        case .abandon(let reason):
            endHandover(.failure(HandoverError(message: reason)))
        }
    }

    /// The witness recorded the standby as primary of `newEpoch`: tell it, and follow it.
    /// Called from the coordinator's `becomeStandby` while a switchover asks the witness.
    func handOverStream(newEpoch: Epoch) {
        guard let channel = replication.standbyChannel else { return }
        replication.standbyChannel = nil  // `follow` must not close it before the frame is out
        var buffer = channel.allocator.buffer(capacity: 24)
        buffer.writeReplicationFrame(.handover(epoch: epoch, newEpoch: newEpoch))
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Ends the switchover either way and runs the held requests.
    func endHandover(_ outcome: Result<String, HandoverError>) {
        guard let handover = replication.handover else { return }
        replication.handover = nil
        let pause = WallClock.monotonicMilliseconds() - handover.machine.startedAtMilliseconds
        switch outcome {
        case .success(let primary):
            logger.notice("switchover done: following the new primary", metadata: ["primary": "\(primary)", "pause_ms": "\(pause)"])
        case .failure(let error):
            logger.warning("switchover abandoned; still the primary", metadata: ["reason": "\(error.message)", "pause_ms": "\(pause)"])
        }
        handover.completion(outcome)
        for handler in handover.heldClients.values { handler.resumeAfterHandover() }
    }
}
