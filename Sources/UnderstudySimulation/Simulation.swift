import UnderstudyCore

/// One seeded run: two data nodes and a witness — the real `NodeCoordinator`, `Witness`,
/// `PrimaryReplication` and `StandbyReplication` — plus clients, in one process, on a
/// virtual clock. Every choice (delays, losses, faults, client timing) comes from the seed,
/// so a run replays exactly. The `InvariantChecker` runs after every event.
public final class Simulation {
    public let options: SimulationOptions
    let settings: CoordinationSettings
    var random: SimulationRandom
    var queue = EventQueue<SimulationEvent>()
    /// Virtual true time, in microseconds.
    private(set) var now: Int64 = 0
    var nodes: [SimulatedNode] = []
    var witness: SimulatedWitness!
    var clients: [SimulatedClient] = []
    var clocks: [LocalClock] = []
    var processUp: [Bool] = []
    var incarnations: [Int] = []
    var pausedUntil: [Int64?] = []
    var weather = NetworkWeather.calm
    var partitions = Partitions()
    var connections: [Int: SimulatedConnection] = [:]
    private var nextConnectionID = 0
    var checker: InvariantChecker
    var statistics = SimulationStatistics()
    var phase = SimulationPhase.boot
    let trace: ((String) -> Void)?

    static let witnessIndex = 2
    static let firstClientIndex = 3
    static let tickMicroseconds: Int64 = 10_000

    /// Node `index`'s failover timing: with `--mixed-lease` the second node runs an 800 ms
    /// lease against the first's 500 ms (the failure timeout, 1 s, stays above both).
    func settings(of index: Int) -> CoordinationSettings {
        var chosen = options.mixedLeases && index == 1 ? CoordinationSettings(mode: options.mode, leaseMilliseconds: 800) : settings
        if options.tightLag { chosen.maxLagOnFailoverBytes = Self.tightLagBytes }
        return chosen
    }

    /// `--tight-lag`: one record (the sim's clients write one at a time, so a standby that
    /// streams is seldom further behind).
    static let tightLagBytes = Int64(SimulatedRecord.frameBytes)

    /// - Parameter trace: receives a line per notable event (role changes, faults,
    ///   acknowledgements); nil for speed.
    public init(options: SimulationOptions, trace: ((String) -> Void)? = nil) {
        self.options = options
        self.trace = trace
        settings = CoordinationSettings(mode: options.mode)
        random = SimulationRandom(seed: options.seed)
        checker = InvariantChecker(options: options)
        let processCount = Self.firstClientIndex + options.clients
        for _ in 0..<processCount {
            let drift = random.int(in: -options.maxClockDriftPartsPerMillion...options.maxClockDriftPartsPerMillion)
            clocks.append(LocalClock(ratePartsPerMillion: drift, offsetMilliseconds: random.int(in: 1_000...1_000_000)))
        }
        processUp = Array(repeating: true, count: processCount)
        incarnations = Array(repeating: 0, count: processCount)
        pausedUntil = Array(repeating: nil, count: processCount)
        let names = ["n1:7001", "n2:7002"]
        for index in 0..<2 {
            nodes.append(SimulatedNode(index: index, name: names[index], peerName: names[1 - index], simulation: self))
        }
        witness = SimulatedWitness(nodes: names, simulation: self)
        for index in 0..<options.clients {
            clients.append(SimulatedClient(index: index, process: Self.firstClientIndex + index, simulation: self))
        }
    }

    // MARK: Running

    /// Runs the whole schedule (or until the first violation) and reports.
    public func run() -> SimulationResult {
        for node in nodes { node.start() }
        for process in 0..<2 { schedule(.tick(process: process, incarnation: 0), afterMicroseconds: random.int(in: 0...Self.tickMicroseconds)) }
        for client in clients { client.start() }
        let faultStart = options.bootMilliseconds * 1_000
        let healAt = faultStart + options.faultMilliseconds * 1_000
        let quietAt = healAt + options.healMilliseconds * 1_000
        let endAt = quietAt + options.quietMilliseconds * 1_000
        queue.push(.beginFaults, at: faultStart)
        queue.push(.heal, at: healAt)
        queue.push(.stopClients, at: quietAt)
        queue.push(.finish, at: endAt)
        while checker.violation == nil, let (time, event) = queue.pop() {
            now = time
            statistics.steps += 1
            if case .finish = event {
                checker.checkFinalState(self)
                break
            }
            dispatch(event)
            checker.checkStep(self)
        }
        return SimulationResult(options: options, violation: checker.violation, statistics: statistics,
                                endMilliseconds: now / 1_000)
    }

    func note(_ text: @autoclosure () -> String) {
        guard let trace else { return }
        trace("[\(formatTime(now))] \(text())")
    }

    func formatTime(_ micros: Int64) -> String {
        let millis = micros / 1_000
        let fraction = millis % 1_000
        return "\(millis / 1_000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)s"
    }

    /// A process's monotonic clock now, in milliseconds.
    func localNow(_ process: Int) -> Int64 {
        clocks[process].milliseconds(atTrueMicroseconds: now)
    }

    func schedule(_ event: SimulationEvent, afterMicroseconds delay: Int64) {
        queue.push(event, at: now + max(0, delay))
    }

    /// Local-clock milliseconds to true microseconds, roughly (timers fire on the local clock).
    func microseconds(localMilliseconds: Int64, process: Int) -> Int64 {
        localMilliseconds * 1_000_000 / (1_000 + clocks[process].ratePartsPerMillion / 1_000)
    }

    private func target(of event: SimulationEvent) -> Int? {
        switch event {
        case .tick(let process, _): return process
        case .fsyncDone(let node, _, _, _), .witnessTimeout(let node, _, _), .connectFailed(let node, _, _, _): return node
        case .datagram(_, let to, _): return to
        case .switchover(let process): return process
        case .pump(let id, let direction):
            guard let connection = connections[id] else { return nil }
            return connection.ends[1 - direction]
        default: return nil
        }
    }

    private func dispatch(_ event: SimulationEvent) {
        if let process = target(of: event), let until = pausedUntil[process], until > now {
            queue.push(event, at: until)  // SIGSTOP: nothing runs until SIGCONT
            return
        }
        switch event {
        case .tick(let process, let incarnation):
            guard processUp[process], incarnations[process] == incarnation else { return }
            nodes[process].tick()
            schedule(.tick(process: process, incarnation: incarnation), afterMicroseconds: Self.tickMicroseconds)
        case .fsyncDone(let node, let incarnation, let generation, let upTo):
            guard processUp[node], incarnations[node] == incarnation else { return }
            nodes[node].fsyncDone(generation: generation, upTo: upTo)
        case .witnessTimeout(let node, let incarnation, let id):
            guard processUp[node], incarnations[node] == incarnation else { return }
            nodes[node].witnessGaveNoAnswer(id: id)
        case .connectFailed(let node, let incarnation, let attempt, let refused):
            guard processUp[node], incarnations[node] == incarnation else { return }
            nodes[node].connectFailed(attempt: attempt, refused: refused)
        case .datagram(let from, let to, let message):
            deliverDatagram(from: from, to: to, message)
        case .pump(let id, let direction):
            pump(connection: id, direction: direction)
        case .clientWake(let client, let token):
            clients[client].wake(token: token)
        default:
            handleFaultEvent(event)
        }
    }

    // MARK: Datagrams

    func sendDatagram(from: Int, to: Int, _ message: SimulatedMessage) {
        if random.chance(perMillion: weather.dropPerMillion) {
            statistics.messagesDropped += 1
            return
        }
        queue.push(.datagram(from: from, to: to, message), at: now + delay())
        if random.chance(perMillion: weather.duplicatePerMillion) {
            statistics.messagesDuplicated += 1
            queue.push(.datagram(from: from, to: to, message), at: now + delay())
        }
    }

    func delay() -> Int64 {
        if random.chance(perMillion: weather.spikePerMillion), weather.spikeMaxMicroseconds > weather.maxDelayMicroseconds {
            return random.int(in: weather.maxDelayMicroseconds...weather.spikeMaxMicroseconds)
        }
        return random.int(in: weather.minDelayMicroseconds...weather.maxDelayMicroseconds)
    }

    private func deliverDatagram(from: Int, to: Int, _ message: SimulatedMessage) {
        if partitions.isBlocked(from: from, to: to) {
            statistics.messagesDropped += 1
            return
        }
        guard processUp[to] else {
            // Connection refused: the sender learns at once.
            switch message {
            case .witnessRequest(let id, _): queue.push(.datagram(from: to, to: from, .witnessRefused(id: id)), at: now + delay())
            case .clientWrite(let operation, _), .clientRead(let operation):
                queue.push(.datagram(from: to, to: from, .clientAnswer(operation: operation, .unavailable)), at: now + delay())
            default: break
            }
            return
        }
        switch to {
        case 0, 1: nodes[to].receiveDatagram(message, from: from)
        case Self.witnessIndex: witness.receive(message, from: from)
        default: clients[to - Self.firstClientIndex].receive(message)
        }
    }

    // MARK: Connections

    /// Opens a connection from `process` to `peer`: its id at once if the peer is up and
    /// reachable (its kernel accepts even while it is paused), or nil and a later
    /// `connectFailed` for dial `attempt` (refused at once if it is down, a timeout if it is cut off).
    func connect(from process: Int, to peer: Int, attempt: Int) -> Int? {
        if partitions.isBlocked(from: process, to: peer) || partitions.isBlocked(from: peer, to: process) {
            schedule(.connectFailed(node: process, incarnation: incarnations[process], attempt: attempt, refused: false),
                     afterMicroseconds: 1_000_000)
            return nil
        }
        guard processUp[peer] else {
            schedule(.connectFailed(node: process, incarnation: incarnations[process], attempt: attempt, refused: true),
                     afterMicroseconds: delay())
            return nil
        }
        let id = nextConnectionID
        nextConnectionID += 1
        connections[id] = SimulatedConnection(id: id, ends: [process, peer], incarnations: [incarnations[process], incarnations[peer]])
        return id
    }

    func send(_ message: SimulatedMessage, on id: Int, from process: Int) {
        guard var connection = connections[id], connection.open else { return }
        if random.chance(perMillion: weather.resetPerMillion) {
            statistics.connectionsReset += 1
            note("connection \(id) reset")
            reset(connection: id)
            return
        }
        let direction = connection.direction(from: process)
        let earliest = connection.queues[direction].last?.deliverAt ?? now
        connection.queues[direction].append((max(earliest, now + delay()), message))
        connections[id] = connection
        schedulePump(id, direction: direction)
    }

    /// `process` closes its end: the other end reads what was sent, then `.closed`.
    func close(connection id: Int, by process: Int) {
        guard var connection = connections[id], connection.open else { return }
        connection.open = false
        let direction = connection.direction(from: process)
        connection.queues[1 - direction].removeAll()
        let earliest = connection.queues[direction].last?.deliverAt ?? now
        connection.queues[direction].append((max(earliest, now + delay()), .closed))
        connections[id] = connection
        schedulePump(id, direction: direction)
    }

    /// Both ends see `.closed`; what was in flight is lost.
    func reset(connection id: Int) {
        guard var connection = connections[id], connection.open else { return }
        connection.open = false
        for direction in 0..<2 { connection.queues[direction] = [(now + delay(), .closed)] }
        connections[id] = connection
        schedulePump(id, direction: 0)
        schedulePump(id, direction: 1)
    }

    private func schedulePump(_ id: Int, direction: Int) {
        guard var connection = connections[id], !connection.pumpScheduled[direction],
              let head = connection.queues[direction].first else { return }
        connection.pumpScheduled[direction] = true
        connections[id] = connection
        queue.push(.pump(connection: id, direction: direction), at: max(now, head.deliverAt))
    }

    /// Delivers the head of one direction's queue, in order; a partition holds it back.
    private func pump(connection id: Int, direction: Int) {
        guard var connection = connections[id] else { return }
        connection.pumpScheduled[direction] = false
        guard let head = connection.queues[direction].first else {
            connections[id] = connection
            return
        }
        let sender = connection.ends[direction]
        let receiver = connection.ends[1 - direction]
        if head.deliverAt > now || partitions.isBlocked(from: sender, to: receiver) {
            connection.pumpScheduled[direction] = true
            connections[id] = connection
            queue.push(.pump(connection: id, direction: direction), at: max(head.deliverAt, now + 20_000))
            return
        }
        connection.queues[direction].removeFirst()
        if !connection.open, connection.queues[0].isEmpty, connection.queues[1].isEmpty {
            connections[id] = nil
        } else {
            connections[id] = connection
        }
        schedulePump(id, direction: direction)
        guard processUp[receiver], incarnations[receiver] == connection.incarnations[1 - direction], receiver < 2 else { return }
        nodes[receiver].receive(head.message, on: id)
    }

    /// A crashed process's connections: the peers see them close (the kernel sends FIN/RST).
    func closeConnections(of process: Int) {
        for id in connections.keys.sorted() {
            guard let connection = connections[id], connection.open, connection.ends.contains(process) else { continue }
            close(connection: id, by: process)
        }
    }
}

/// Where a run is in its schedule.
enum SimulationPhase {
    case boot, faults, healing, quiet
}

enum SimulationEvent {
    case tick(process: Int, incarnation: Int)
    case fsyncDone(node: Int, incarnation: Int, generation: Int, upTo: Int)
    case witnessTimeout(node: Int, incarnation: Int, id: UInt64)
    case connectFailed(node: Int, incarnation: Int, attempt: Int, refused: Bool)
    case datagram(from: Int, to: Int, SimulatedMessage)
    case pump(connection: Int, direction: Int)
    case clientWake(client: Int, token: UInt64)
    // The fault schedule.
    case beginFaults
    case nextFault
    case crash(process: Int)
    case restart(process: Int)
    /// Space came back on this node's disk (`--disk-full`).
    case diskSpaceReturned(process: Int, incarnation: Int)
    case pause(process: Int, microseconds: Int64)
    /// An operator's `understudy switchover`, sent to this node (`--switchover`).
    case switchover(process: Int)
    /// SIGTERM to this node (`--sigterm`).
    case terminate(process: Int)
    /// An operator's `PROMOTE FORCE` on this node (`--force-promotion`).
    case forcePromotion(process: Int)
    case unblock(from: Int, to: Int)
    case weather(NetworkWeather)
    case heal
    case stopClients
    case finish
}
