/// `WAIT numreplicas timeout`: block a connection until the standby holds its writes.
extension PrimaryReplication {
    /// `connection` asks to wait until `numberOfReplicas` replicas hold every record up to
    /// `lsn` (its last write), or until `deadlineMilliseconds` (nil: forever).
    public mutating func waitRequested(connection: UInt64, lsn: LSN, deadlineMilliseconds: Int64?,
                                       numberOfReplicas: Int = 1) -> WaitOutcome {
        precondition(!waiters.contains { $0.connection == connection }, "Connection \(connection) is already in WAIT")
        let held = replicasHolding(lsn)
        if held >= numberOfReplicas { return .satisfied(replicas: held) }
        if steppedDownForEpoch != nil { return .satisfied(replicas: held) }
        guard waiters.count < maxWaiters else {
            return .refused(message: "ERR too many connections in WAIT (limit \(maxWaiters))")
        }
        waiters.append(Waiter(connection: connection, lsn: lsn, numberOfReplicas: numberOfReplicas,
                              deadlineMilliseconds: deadlineMilliseconds))
        return .pending
    }

    /// The connection went away: forget its `WAIT`.
    public mutating func waitCancelled(connection: UInt64) {
        waiters.removeAll { $0.connection == connection }
    }

    /// Connections in `WAIT`.
    public var waitingConnectionCount: Int { waiters.count }

    /// How many replicas hold every record up to `lsn`: the standby, once it acknowledged
    /// `lsn` durable (even if it has detached since).
    func replicasHolding(_ lsn: LSN) -> Int {
        Self.replicas(holding: lsn, standbyDurableLSN: standbyDurableLSN)
    }

    static func replicas(holding lsn: LSN, standbyDurableLSN: LSN?) -> Int {
        guard let durable = standbyDurableLSN, durable >= lsn else { return 0 }
        return 1
    }

    mutating func completeSatisfiedWaiters() -> [PrimaryAction] {
        guard !waiters.isEmpty else { return [] }
        var actions: [PrimaryAction] = []
        let durable = standbyDurableLSN
        waiters.removeAll { waiter in
            let held = Self.replicas(holding: waiter.lsn, standbyDurableLSN: durable)
            guard held >= waiter.numberOfReplicas else { return false }
            actions.append(.completeWait(connection: waiter.connection, replicas: held))
            return true
        }
        return actions
    }

    mutating func expireWaiters(nowMilliseconds: Int64) -> [PrimaryAction] {
        guard !waiters.isEmpty else { return [] }
        var actions: [PrimaryAction] = []
        let durable = standbyDurableLSN
        waiters.removeAll { waiter in
            guard let deadline = waiter.deadlineMilliseconds, deadline <= nowMilliseconds else { return false }
            actions.append(.completeWait(connection: waiter.connection,
                                         replicas: Self.replicas(holding: waiter.lsn, standbyDurableLSN: durable)))
            return true
        }
        return actions
    }
}
