import UnderstudyCore

/// A client writing unique values one at a time to the node it believes is primary,
/// following READONLY redirects, retrying after errors, giving up on a write after a
/// timeout (its outcome is then unknown to it; the checker knows from the node's side).
final class SimulatedClient {
    let index: Int
    let process: Int
    unowned let simulation: Simulation
    var target = 0
    var sequence: UInt64 = 0
    var inFlight: UInt64?
    var wakeToken: UInt64 = 0
    var stopped = false

    static let timeoutMicroseconds: Int64 = 1_000_000

    init(index: Int, process: Int, simulation: Simulation) {
        self.index = index
        self.process = process
        self.simulation = simulation
    }

    func start() {
        target = simulation.random.index(2)
        sleep(microseconds: simulation.random.int(in: 0...50_000))
    }

    func stop() {
        stopped = true
    }

    private func sleep(microseconds: Int64) {
        wakeToken += 1
        simulation.schedule(.clientWake(client: index, token: wakeToken), afterMicroseconds: microseconds)
    }

    func wake(token: UInt64) {
        guard token == wakeToken else { return }
        if inFlight != nil {
            // Timed out: the outcome is unknown; try the other node next.
            inFlight = nil
            simulation.statistics.clientTimeouts += 1
            target = 1 - target
        }
        guard !stopped else { return }
        sequence += 1
        let operation = UInt64(index) << 40 | sequence
        inFlight = operation
        // With --reads a third of the operations read the register (drawn only then, so
        // that without it every seed's schedule stays as it was).
        if simulation.options.reads, simulation.random.index(3) == 0 {
            simulation.statistics.readsAttempted += 1
            simulation.checker.readStarted(operation: operation)
            simulation.sendDatagram(from: process, to: target, .clientRead(operation: operation))
        } else {
            simulation.statistics.writesAttempted += 1
            simulation.sendDatagram(from: process, to: target, .clientWrite(operation: operation, value: operation))
        }
        sleep(microseconds: Self.timeoutMicroseconds)
    }

    func receive(_ message: SimulatedMessage) {
        guard case .clientAnswer(let operation, let answer) = message, operation == inFlight else { return }
        inFlight = nil
        switch answer {
        case .acknowledged:
            sleep(microseconds: simulation.random.int(in: 1_000...30_000))
        case .read(_, _, let fromPrimary):
            // From a standby the client would not have asked (it routes by ROLE): go elsewhere.
            if !fromPrimary { target = 1 - target }
            sleep(microseconds: simulation.random.int(in: 1_000...30_000))
        case .redirect:
            target = 1 - target
            sleep(microseconds: simulation.random.int(in: 1_000...5_000))
        case .failed, .unavailable:
            if case .unavailable = answer { target = 1 - target }
            sleep(microseconds: simulation.random.int(in: 20_000...100_000))
        }
    }
}
