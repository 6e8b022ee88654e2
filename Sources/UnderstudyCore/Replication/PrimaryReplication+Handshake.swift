/// The stream-or-snapshot decision when a standby sends `REPLICATE`.
extension PrimaryReplication {
    /// Decides how the standby described by `handshake` catches up, and attaches it (a
    /// standby already attached is replaced: the shell MUST close its connection and
    /// deliver no more of its events).
    ///
    /// In order: a standby that has seen a higher epoch makes us step down (the shell MUST
    /// then call `receivedHigherEpoch` and perform its actions); a standby ahead of our
    /// log, or whose epoch history parts from ours before its last LSN, or whose last
    /// record's checksum differs from ours, has diverged; a standby whose next record we
    /// retain — and whose last record we could compare — streams; anything else gets the
    /// newest snapshot, if the WAL after it is retained.
    public mutating func standbyHandshake(_ handshake: StandbyHandshake, facts: PrimaryLogFacts) -> HandshakeDecision {
        assert(facts.lastWrittenLSN == lastWrittenLSN, "The shell's log facts disagree with the records it reported written")
        if handshake.epoch > epoch { return .stepDown(seenEpoch: handshake.epoch) }
        if let reason = divergence(of: handshake, facts: facts) { return .refuseDiverged(reason: reason) }

        let needed = handshake.lastLSN.next
        // No checksum: LSN 0, or state from an older snapshot; the agreeing history and the
        // cluster identity vouch for it.
        let lastRecordMatches = handshake.lastRecordChecksum == nil || facts.checksumOfRecord(handshake.lastLSN) != nil
        if lastRecordMatches, needed >= facts.oldestRetainedLSN {
            attach(address: handshake.standbyAddress, nextLSNToSend: needed)
            return .stream(from: needed)
        }
        guard let snapshotLSN = facts.newestSnapshotLSN, snapshotLSN.next >= facts.oldestRetainedLSN,
              snapshotLSN <= facts.lastWrittenLSN else {
            let snapshotText = facts.newestSnapshotLSN.map { "the newest snapshot is at LSN \($0)" } ?? "there is no snapshot"
            return .refuseUnavailable(reason: "the standby needs LSN \(needed) but the primary retains the WAL only from LSN \(facts.oldestRetainedLSN) and \(snapshotText)")
        }
        attach(address: handshake.standbyAddress, nextLSNToSend: snapshotLSN.next)
        return .sendSnapshot(lsn: snapshotLSN)
    }

    /// The shell has written the `+STREAM` reply (or `+SNAPSHOT` and the whole snapshot):
    /// WAL frames may follow.
    public mutating func readyToStream() -> [PrimaryAction] {
        guard var attached = standby else { return [] }
        precondition(!attached.readyToStream, "readyToStream reported twice for one handshake")
        attached.readyToStream = true
        standby = attached
        return progress()
    }

    /// Why the standby's log conflicts with ours, or nil if it does not.
    private func divergence(of handshake: StandbyHandshake, facts: PrimaryLogFacts) -> String? {
        if handshake.lastLSN > facts.lastWrittenLSN {
            return "standby is ahead: its last LSN is \(handshake.lastLSN), the primary's is \(facts.lastWrittenLSN)"
        }
        let forkPoint = history.forkPoint(with: handshake.history)
        if forkPoint < handshake.lastLSN {
            return "epoch histories part after LSN \(forkPoint) (standby \(handshake.history), primary \(history)), the standby holds up to LSN \(handshake.lastLSN)"
        }
        if let theirs = handshake.lastRecordChecksum, let ours = facts.checksumOfRecord(handshake.lastLSN), theirs != ours {
            return "record \(handshake.lastLSN) differs: checksum \(theirs) on the standby, \(ours) on the primary"
        }
        return nil
    }

    /// Attaches a standby whose durable LSN is not known yet. Its handshake's last LSN may
    /// include records not yet durable on its disk, so nothing counts as replicated until
    /// its first acknowledgement (which it sends as soon as the stream is accepted).
    private mutating func attach(address: String, nextLSNToSend: LSN) {
        standby = AttachedStandby(address: address, nextLSNToSend: nextLSNToSend)
        standbyDurableLSN = .zero
    }
}
