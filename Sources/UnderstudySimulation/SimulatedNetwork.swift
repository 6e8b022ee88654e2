/// How the network behaves at the moment: set by the fault schedule, calm after healing.
struct NetworkWeather {
    /// Datagrams (witness and client traffic) lost, duplicated; connections reset, per
    /// message, in millionths.
    var dropPerMillion: Int64 = 0
    var duplicatePerMillion: Int64 = 0
    var resetPerMillion: Int64 = 0
    /// One-way delay, uniformly in this range, and now and then a spike up to `spikeMaxMicroseconds`.
    var minDelayMicroseconds: Int64 = 100
    var maxDelayMicroseconds: Int64 = 1_000
    var spikePerMillion: Int64 = 0
    var spikeMaxMicroseconds: Int64 = 0

    static let calm = NetworkWeather()
}

/// An ordered, reliable connection (TCP) between two processes: each direction is a
/// queue delivered in order. A partition holds the queue (retransmission) rather than
/// losing it; a crash or a reset closes it.
struct SimulatedConnection {
    let id: Int
    /// The two ends: [initiator, acceptor], with the incarnation each end had when it opened.
    let ends: [Int]
    let incarnations: [Int]
    var open = true
    /// Per direction (0: initiator → acceptor, 1: back): messages and their earliest delivery time.
    var queues: [[(deliverAt: Int64, message: SimulatedMessage)]] = [[], []]
    var pumpScheduled = [false, false]

    func direction(from process: Int) -> Int { ends[0] == process ? 0 : 1 }
    func other(than process: Int) -> Int { ends[0] == process ? ends[1] : ends[0] }
}

/// Which directed links are cut, by process index.
struct Partitions {
    private var blocked: Set<Int> = []

    func isBlocked(from: Int, to: Int) -> Bool { blocked.contains(from * 1_024 + to) }
    mutating func block(from: Int, to: Int) { blocked.insert(from * 1_024 + to) }
    mutating func unblock(from: Int, to: Int) { blocked.remove(from * 1_024 + to) }
    mutating func healAll() { blocked.removeAll() }
    var isEmpty: Bool { blocked.isEmpty }
}
