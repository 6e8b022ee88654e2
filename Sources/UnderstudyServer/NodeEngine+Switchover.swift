import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// A planned switchover in progress on the primary (`FAILOVER`, `understudy switchover`,
/// SIGTERM with an in-sync standby).
struct HandoverState {
    enum Stage {
        /// Keyspace requests are held; waiting until the standby holds every record and
        /// every reply has gone out.
        case catchingUp
        /// `WITNESS HANDOVER` is out.
        case askingWitness
    }

    var stage: Stage = .catchingUp
    var startedMilliseconds: Int64
    var deadlineMilliseconds: Int64
    /// The primary shuts down after it: the witness records its future standby role as
    /// not in sync, so the new primary does not wait for it.
    var leaving: Bool
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
    func handOverBeforeShutdown(timeoutMilliseconds: Int64 = 3_000) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        guard let coordinator = replication.coordinator, coordinator.role == .primary, replication.standbyChannel != nil,
              coordinator.settings.mode == .async || coordinator.standbyInSync else {
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
        if let refusal = handoverRefusal() {
            completion(.failure(HandoverError(message: refusal)))
            return
        }
        let now = WallClock.monotonicMilliseconds()
        replication.handover = HandoverState(
            startedMilliseconds: now, deadlineMilliseconds: now + timeoutMilliseconds, leaving: leaving, completion: completion)
        logger.notice("switchover: holding new requests until the standby has every record", metadata: [
            "standby": "\(replication.standbyAddress ?? "?")", "last_lsn": "\(wal.lastAppendedLSN)", "epoch": "\(epoch)",
        ])
        scheduleFlush()
        continueHandover()
    }

    private func handoverRefusal() -> String? {
        guard replication.handover == nil else { return "ERR a switchover is already in progress" }
        guard let coordinator = replication.coordinator else {
            return "ERR switchover needs automatic failover (--witness): without a witness, restart the nodes with the roles swapped"
        }
        guard coordinator.role == .primary, replication.primary != nil else {
            return "ERR this node is not the primary; run the switchover on the primary (understudy switchover finds it)"
        }
        guard replication.standbyChannel != nil, replication.standbyAddress != nil else {
            return "ERR no standby is attached: there is no one to hand over to"
        }
        guard walFailure == nil else { return "ERR the write-ahead log has failed" }
        return nil
    }

    /// Moves the switchover on when it can (after durability, acknowledgements and ticks).
    func continueHandover() {
        guard let handover = replication.handover, handover.stage == .catchingUp else { return }
        let now = WallClock.monotonicMilliseconds()
        guard let primary = replication.primary, replication.standbyChannel != nil,
              let coordinator = replication.coordinator, coordinator.role == .primary else {
            endHandover(.failure(HandoverError(message: "ERR switchover abandoned: the standby detached or this node stopped being primary")))
            return
        }
        guard now < handover.deadlineMilliseconds else {
            endHandover(.failure(HandoverError(message: "ERR switchover abandoned: the standby did not catch up within \(handover.deadlineMilliseconds - handover.startedMilliseconds) ms (lag \(primary.lag(nowMilliseconds: now).lsns) records)")))
            return
        }
        let last = wal.lastAppendedLSN
        guard wal.lastWrittenLSN == last, (primary.standbyDurableLSN ?? .zero) >= last, visibleLSN >= last else { return }
        guard let standby = replication.standbyAddress else { return }
        replication.handover?.stage = .askingWitness
        performCoordination([.askWitness(.handover(
            node: nodeName, epoch: coordinator.epoch, to: standby, leaving: handover.leaving, lastLSN: last))])
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

    /// The witness refused or did not answer: stay primary, serve what was held.
    func handoverWitnessFailed(_ reason: String) {
        guard replication.handover?.stage == .askingWitness else { return }
        endHandover(.failure(HandoverError(message: "ERR switchover abandoned: the witness \(reason)")))
    }

    /// Ends the switchover either way and runs the held requests.
    func endHandover(_ outcome: Result<String, HandoverError>) {
        guard let handover = replication.handover else { return }
        replication.handover = nil
        let pause = WallClock.monotonicMilliseconds() - handover.startedMilliseconds
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
