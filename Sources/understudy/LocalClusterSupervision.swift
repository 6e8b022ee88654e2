/// What `understudy local` decides about its three children, with no I/O: each event is a
/// mutating method named after it and returns what the shell must do, in order.
///
/// The shell MUST carry out the actions in the order given (a report before the kill it
/// explains) and MUST exit with `finish`'s code once it gets one, after no other action.
struct LocalClusterSupervision {
    enum Action: Equatable {
        /// Send `signal` to the child `name` (process id `processID`).
        case signal(name: String, processID: Int32, signal: Int32)
        /// Tell the operator (stderr).
        case report(String)
        /// Print the "cluster is up" banner (stdout).
        case announceReady
        /// Call `shutdownDeadlinePassed()` after the stop grace period.
        case startShutdownDeadline
        /// Every child is gone: exit with this code.
        case finish(exitCode: Int32)
    }

    private enum Phase {
        case running
        /// Stopping all children; `exitCode` is what the command exits with once they are gone.
        case stopping(exitCode: Int32, forced: Bool)
    }

    /// The children not yet started (the reaper reports each start).
    private var pending: Set<String>
    /// The children running, by name.
    private var running: [String: Int32] = [:]
    private var phase = Phase.running

    init(childNames: [String]) {
        precondition(!childNames.isEmpty, "a cluster has children")
        pending = Set(childNames)
    }

    mutating func started(name: String, processID: Int32) -> [Action] {
        guard pending.remove(name) != nil else { fatalError("Internal inconsistency: \(name) started twice") }
        running[name] = processID
        if case .stopping(_, let forced) = phase {
            return [.signal(name: name, processID: processID, signal: forced ? SignalNumber.kill : SignalNumber.terminate)]
        }
        return []
    }

    mutating func failedToStart(name: String, reason: String) -> [Action] {
        guard pending.remove(name) != nil else { fatalError("Internal inconsistency: \(name) failed to start after starting") }
        return [.report("could not start \(name): \(reason)")] + stop(exitCode: 1) + finishIfEmpty()
    }

    mutating func exited(name: String, status: String, logPath: String) -> [Action] {
        guard running.removeValue(forKey: name) != nil else { return [] }
        switch phase {
        case .stopping:
            return finishIfEmpty()
        case .running:
            var actions = [Action.report("\(name) stopped unexpectedly (\(status)); see \(logPath)")]
            if running.isEmpty, pending.isEmpty {
                actions.append(.report("all three processes have stopped"))
                phase = .stopping(exitCode: 1, forced: false)
                actions += finishIfEmpty()
            } else {
                actions.append(.report("the others keep running: \(running.keys.sorted().joined(separator: ", "))"))
            }
            return actions
        }
    }

    /// SIGINT or SIGTERM: the first stops the children gracefully, a second kills them.
    mutating func signalReceived(_ signalName: String) -> [Action] {
        switch phase {
        case .running:
            return [.report("\(signalName): stopping all three")] + stop(exitCode: 0) + finishIfEmpty()
        case .stopping(let exitCode, false):
            phase = .stopping(exitCode: exitCode, forced: true)
            return [.report("\(signalName) again: killing what is left")] + signalAll(SignalNumber.kill)
        case .stopping(_, true):
            return []
        }
    }

    mutating func shutdownDeadlinePassed() -> [Action] {
        guard case .stopping(let exitCode, false) = phase, !running.isEmpty else { return [] }
        phase = .stopping(exitCode: exitCode, forced: true)
        return [.report("still running after the grace period, killing: \(running.keys.sorted().joined(separator: ", "))")]
            + signalAll(SignalNumber.kill)
    }

    /// The readiness wait is over (writable, or the deadline passed): announce only while running.
    mutating func readinessResolved() -> [Action] {
        if case .running = phase { return [.announceReady] }
        return []
    }

    private mutating func stop(exitCode: Int32) -> [Action] {
        guard case .running = phase else { return [] }
        phase = .stopping(exitCode: exitCode, forced: false)
        return signalAll(SignalNumber.terminate) + [.startShutdownDeadline]
    }

    private func signalAll(_ signal: Int32) -> [Action] {
        running.sorted { $0.key < $1.key }.map { .signal(name: $0.key, processID: $0.value, signal: signal) }
    }

    private func finishIfEmpty() -> [Action] {
        guard running.isEmpty, pending.isEmpty, case .stopping(let exitCode, _) = phase else { return [] }
        return [.finish(exitCode: exitCode)]
    }
}

/// The two signals the supervision sends, without importing Glibc into the pure logic.
enum SignalNumber {
    static let terminate: Int32 = 15
    static let kill: Int32 = 9
}
