import UnderstudyCore

/// Snapshots and WAL pruning (`--snapshots`), as the shell carries them out: a node takes a
/// snapshot of its durable log now and then and keeps the WAL only from its older kept
/// snapshot on; a primary sends its newest snapshot to a standby whose next record it no
/// longer retains (the core decides that, in `standbyHandshake`), and the standby installs
/// it and streams from there. The sim carries a snapshot as the records up to its LSN (the
/// state they built), so the checker still finds every record a snapshot holds.
extension SimulatedNode {
    /// Records between two snapshots a node waits for before it takes the next one.
    static let recordsBetweenSnapshots = 30

    /// Every tick: now and then (about every half second of a node's life), a snapshot of
    /// the durable log, then the WAL is pruned to the older kept snapshot.
    func considerSnapshot() {
        guard simulation.random.int(in: 0...49) == 0, !logBroken,
              durableCount >= Int(snapshotLSN?.rawValue ?? 0) + Self.recordsBetweenSnapshots else { return }
        olderSnapshotLSN = snapshotLSN
        snapshotLSN = LSN(UInt64(durableCount))
        retainedFromLSN = max(retainedFromLSN, (olderSnapshotLSN ?? .zero).next)
        simulation.statistics.snapshotsTaken += 1
    }

    /// What the primary's handshake decision needs of its log: where its WAL starts, its
    /// newest snapshot, and the checksum of a record it can still compare (one in the WAL,
    /// or a snapshot's last record, whose checksum its header carries).
    var primaryLogFacts: PrimaryLogFacts {
        let log = self.log
        let retainedFrom = retainedFromLSN
        let snapshot = snapshotLSN
        return PrimaryLogFacts(
            lastWrittenLSN: lastLSN, oldestRetainedLSN: retainedFrom, newestSnapshotLSN: snapshot,
            checksumOfRecord: { lsn in
                guard lsn >= LSN(1), lsn.rawValue <= UInt64(log.count), lsn >= retainedFrom || lsn == snapshot else { return nil }
                return log[Int(lsn.rawValue) - 1].checksum
            })
    }

    /// Primary: the core chose to send the snapshot at `lsn` on connection `id`: the answer,
    /// the snapshot, then the stream (the connection is ordered, as production's is).
    func sendSnapshot(at lsn: LSN, on id: Int) {
        guard snapshotLSN == lsn, lsn <= lastLSN, let snapshotEpoch = node.history.epoch(at: lsn) else {
            simulation.checker.fail("\(name) was told to send a snapshot at LSN \(lsn), but its newest is at \(snapshotLSN.map { "\($0)" } ?? "none")", simulation)
            return
        }
        standbyConnection = id
        let epoch = node.primary?.replication.epoch ?? node.epoch
        simulation.send(.handshakeAnswer(.snapshot(
            epoch: epoch, lsn: lsn, bytes: Int64(lsn.rawValue) * Int64(SimulatedRecord.frameBytes), snapshotEpoch: snapshotEpoch,
            history: node.history, clusterID: node.coordinator?.clusterID)), on: id, from: index)
        simulation.send(.snapshot(Array(log.prefix(Int(lsn.rawValue)))), on: id, from: index)
        simulation.statistics.snapshotsSent += 1
        simulation.note("\(name) sends its snapshot at LSN \(lsn) to the standby")
        perform(node.standbyReadyToStream(link: UInt64(id), nowMilliseconds: now))
    }

    /// Standby: the primary's snapshot arrived on `link`. It replaces the log, durably (the
    /// receiver fsyncs the file before it reports), and the node is told.
    func installSnapshot(_ records: [SimulatedRecord], link: UInt64) {
        guard primaryConnection.map({ UInt64($0) }) == link, !logBroken else { return }
        let lsn = LSN(UInt64(records.count))
        log = records
        durableCount = records.count
        snapshotLSN = lsn
        olderSnapshotLSN = nil
        retainedFromLSN = lsn.next
        logGeneration += 1
        fsyncInFlight = false
        simulation.statistics.snapshotsInstalled += 1
        simulation.note("\(name) installs the primary's snapshot at LSN \(lsn)")
        perform(node.snapshotInstalled(link: link, lastRecordChecksum: records.last?.checksum, nowMilliseconds: now))
    }

    /// After a cut after `forkPoint`: snapshots past it described the cut records and are set
    /// aside; the log is rebuilt from what is left (production falls back to an older
    /// snapshot and its WAL; the sim's `log` still holds the records that state was built of).
    func snapshotsAfterCut(keepingThrough forkPoint: LSN) {
        if let older = olderSnapshotLSN, older > forkPoint { olderSnapshotLSN = nil }
        if let newest = snapshotLSN, newest > forkPoint {
            snapshotLSN = olderSnapshotLSN
            olderSnapshotLSN = nil
        }
        retainedFromLSN = min(retainedFromLSN, (snapshotLSN ?? .zero).next)
    }
}
