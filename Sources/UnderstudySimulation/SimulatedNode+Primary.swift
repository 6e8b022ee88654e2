import UnderstudyCore

/// The primary's side of the shell: client writes (admitted by the node, appended, held
/// until `.release` or `.fail`) and standby handshakes.
extension SimulatedNode {
    func clientWrote(value: UInt64, operation: UInt64, client: Int) {
        // A switchover holds new requests; they run when it ends.
        if node.isHandingOver {
            writesHeldForSwitchover.append((value, operation, client))
            return
        }
        let write = HeldWrite(lsn: .zero, value: value, operation: operation, client: client)
        if let refusal = node.refusal(isWrite: true, nowMilliseconds: now) {
            answer(write, Self.answer(refusing: refusal))
            return
        }
        guard let epoch = node.primary?.replication.epoch else {
            fatalError("Internal inconsistency: \(name) admitted a write but is not a primary")
        }
        let record = SimulatedRecord(lsn: lastLSN.next, epoch: epoch, value: value)
        guard node.history.epoch(at: record.lsn) == epoch else {
            simulation.checker.fail("\(name) would write LSN \(record.lsn) in epoch \(epoch) but its history \(node.history) disagrees", simulation)
            return
        }
        append(record)
        heldWrites.append(HeldWrite(lsn: record.lsn, value: value, operation: operation, client: client))
        // The sim has no separate write(2): the record is in the "WAL files" at once.
        perform(node.written(upTo: record.lsn, bytes: Int64(SimulatedRecord.frameBytes), nowMilliseconds: now))
        writtenUnderPolicy(upTo: record.lsn)
    }

    /// A read of the register: refused as the node refuses any read (no lease, no role),
    /// else answered once the gate covers the log's end now — at once if it already does —
    /// with the value there, as a reply that carries `wal.lastAppendedLSN` in production.
    func clientRead(operation: UInt64, client: Int) {
        let read = HeldWrite(lsn: lastLSN, value: log.last?.value ?? 0, operation: operation, client: client, isRead: true,
                             readOnPrimary: node.primary != nil)
        if node.isHandingOver || node.refusal(isWrite: false, nowMilliseconds: now) != nil {
            answer(read, .redirect)
            return
        }
        // Each client has one request in flight, so a reply waits for nothing but the gate.
        if read.lsn <= node.gate.acknowledgedLSN {
            answerRead(read)
        } else {
            heldWrites.append(read)
        }
    }

    func answerRead(_ read: HeldWrite) {
        let fromPrimary = read.readOnPrimary && node.primary != nil
        if fromPrimary { simulation.checker.readAnswered(read, by: self, simulation: simulation) }
        answer(read, .read(lsn: read.lsn, value: read.value, fromPrimary: fromPrimary))
    }

    /// What a client hears for a refused write: go elsewhere, or an error.
    static func answer(refusing refusal: CommandRefusal) -> ClientAnswer {
        switch refusal {
        case .standby, .superseded, .roleUndecided:
            return .redirect
        case .logFailed(let reason), .logFailedRead(let reason):
            return .failed("ERR write refused: \(reason)")
        case .diskFull(let reason):
            return .failed(DataNode.diskFullText(reason))
        case .leaseExpired(let epoch):
            return .failed("TRYAGAIN the primary of epoch \(epoch) does not hold its lease")
        case .limit(let message):
            return .failed(message)
        }
    }

    /// The switchover ended: the writes it held run now (and are refused if this node no
    /// longer takes them).
    func runWritesHeldForSwitchover() {
        let held = writesHeldForSwitchover
        writesHeldForSwitchover = []
        for write in held { clientWrote(value: write.value, operation: write.operation, client: write.client) }
    }

    /// A standby's `REPLICATE` on connection `id`. Without `--snapshots` the sim's primary
    /// retains its whole log and has no snapshot.
    func receivedHandshake(_ handshake: StandbyHandshake, on id: Int) {
        let (outcome, actions) = node.standbyHandshake(handshake, link: UInt64(id), facts: primaryLogFacts, nowMilliseconds: now)
        perform(actions)
        switch outcome {
        case .stream(let answer):
            standbyConnection = id
            simulation.send(.handshakeAnswer(answer), on: id, from: index)
            perform(node.standbyReadyToStream(link: UInt64(id), nowMilliseconds: now))
        case .refuse(let answer):
            simulation.note("\(name) refuses a standby: \(answer.line.text)")
            simulation.send(.handshakeAnswer(answer), on: id, from: index)
            simulation.close(connection: id, by: index)
        case .snapshot(let lsn):
            sendSnapshot(at: lsn, on: id)
        }
    }
}
