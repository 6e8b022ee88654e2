import UnderstudyCore

/// The standby's side of the shell: a dial that failed, and records frames (whose
/// accepted ranges `.appendReceived` appends).
extension SimulatedNode {
    /// Dial `attempt` could not connect (`refused`: the primary's process is down).
    func connectFailed(attempt: Int, refused: Bool) {
        guard attempt == dialAttempt else { return }
        let reason = refused ? "connection refused" : "connect timed out"
        perform(node.primaryLinkFailed(reason, refused: refused, nowMilliseconds: now))
    }

    /// A records frame on `link`: the node says which of its records to append.
    func receivedRecords(_ records: [SimulatedRecord], link: UInt64) {
        let before = lastLSN
        receivedBatch = records
        perform(node.receivedRecords(records.map(\.header), link: link, nowMilliseconds: now))
        receivedBatch = []
        // The loop-end write: what was appended is in the "WAL files" (no write(2) of its own).
        let bytes = Int64(lastLSN.rawValue - before.rawValue) * Int64(SimulatedRecord.frameBytes)
        perform(node.written(upTo: lastLSN, bytes: bytes, nowMilliseconds: now))
        if lastLSN > before { writtenUnderPolicy(upTo: lastLSN) }
    }
}
