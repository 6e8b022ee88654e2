import Logging
import NIOCore

/// The per-connection bulkheads: requests in flight, unsent reply bytes, idle time.
///
/// These are resource limits of one connection, not protocol decisions: they shed a client
/// that costs the node memory or a slot, and say so in the log and in INFO stats.
extension ClientHandler {
    // MARK: Requests in flight (--max-inflight-per-connection)

    /// Requests read and not yet answered: replies held for durability, and requests kept
    /// behind a pending WAIT, FAILOVER or switchover.
    var inflightRequestCount: Int { held.count + deferredCommands.count + (waitPending ? 1 : 0) }

    /// Whether the connection may be read from. A read can bring several requests, so up to
    /// one read's worth more than the limit may be in flight; none is refused for it.
    var hasInflightRoom: Bool { inflightRequestCount < engine.configuration.maxInflightPerConnection }

    // MARK: Unsent replies (--client-output-buffer-limit)

    /// Called after each flush: how many reply bytes the channel still holds for the kernel.
    func noteBufferedWritableBytes(context: ChannelHandlerContext) {
        do {
            if let options = context.channel.syncOptions {
                bufferedWritableBytes = try options.getOption(.bufferedWritableBytes)
            }
        } catch {
            // A channel without the option (EmbeddedChannel) counts only what is not flushed.
            bufferedWritableBytes = 0
        }
        enforceOutputBufferLimit()
    }

    /// Closes the connection once the replies it has not taken pass the limit. A client that
    /// keeps sending and never reads gets here (its connection is still read from); the
    /// memory it held is released at once and its slot freed.
    func enforceOutputBufferLimit() {
        let waitingBytes = output.readableBytes + bufferedWritableBytes
        let limitBytes = engine.configuration.clientOutputBufferLimitBytes
        guard waitingBytes > limitBytes, !isClosing, let context else { return }
        engine.statistics.clientOutputBufferLimitDisconnections += 1
        engine.metrics.refused(.outputBuffer)
        engine.logger.warning("client closed: replies waiting for it passed --client-output-buffer-limit", metadata: [
            "client": "\(session.remoteAddress)", "id": "\(session.id)",
            "waiting_bytes": "\(waitingBytes)", "limit_bytes": "\(limitBytes)",
        ])
        isClosing = true
        output.clear()
        context.close(promise: nil)
    }

    // MARK: Idle connections (--idle-timeout)

    /// Starts counting idle time for a new client connection (nothing when the timeout is 0).
    func startIdleTimer(context: ChannelHandlerContext) {
        guard engine.configuration.idleTimeoutMilliseconds > 0 else { return }
        lastRequestAt = context.eventLoop.now
        scheduleIdleCheck(in: .milliseconds(engine.configuration.idleTimeoutMilliseconds), context: context)
    }

    /// Stops the idle timer: the connection closed or became a replication link.
    func stopIdleTimer() {
        idleTimer?.cancel()
        idleTimer = nil
    }

    private func scheduleIdleCheck(in delay: TimeAmount, context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            idleTimer = nil
            checkIdle()
        }
    }

    /// Closes the connection if no request came for the timeout and none is in progress
    /// (a request waiting for durability, WAIT or a switchover is not idleness).
    private func checkIdle() {
        guard let context, !isClosing else { return }
        let timeout = TimeAmount.milliseconds(engine.configuration.idleTimeoutMilliseconds)
        if inflightRequestCount > 0 || handoverPaused {
            lastRequestAt = context.eventLoop.now
        }
        let idle = context.eventLoop.now - lastRequestAt
        guard idle >= timeout else {
            scheduleIdleCheck(in: timeout - idle, context: context)
            return
        }
        engine.statistics.idleTimeoutDisconnections += 1
        engine.metrics.refused(.idleTimeout)
        engine.logger.info("client closed: idle for --idle-timeout", metadata: [
            "client": "\(session.remoteAddress)", "id": "\(session.id)",
            "idle_milliseconds": "\(idle.nanoseconds / 1_000_000)",
        ])
        isClosing = true
        context.close(promise: nil)
    }
}
