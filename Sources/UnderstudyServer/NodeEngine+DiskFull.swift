import Logging
import NIOCore
import UnderstudyCore
import UnderstudyStorage

/// A full disk (ENOSPC): the shell's half of `DataNode.logFull` / `diskSpaceReturned`.
///
/// What the kernel took is synced and reported first; the keyspace is then reloaded from
/// the files (recovery), so the writes whose records could not be written vanish from
/// memory as they never reached the disk; a timer retries creating the next segment with
/// a backoff, and the node accepts writes again once that works. A sync that fails on the
/// way is the fatal `logFailed` (fsyncgate), never retried.
extension NodeEngine {
    /// The first delay before probing the disk again, doubled up to the maximum.
    static let diskProbeInitialDelayMilliseconds: Int64 = 100
    static let diskProbeMaxDelayMilliseconds: Int64 = 2_000

    /// `writePending` (or a new segment) failed with ENOSPC.
    func diskFilled(_ error: any Error) {
        let written = wal.lastWrittenLSN
        let now = WallClock.monotonicMilliseconds()
        do {
            if let job = wal.makeSyncJob() { durableLSN = max(durableLSN, try job.run()) }
        } catch {
            failWAL("fdatasync after a full disk failed: \(error)")
            return
        }
        perform(node.locallyDurable(upTo: written, nowMilliseconds: now))
        perform(node.synced(upTo: written, nowMilliseconds: now))
        perform(node.logFull("\(error)", writtenThrough: written))
        guard node.diskFull != nil else { return }  // the node made it fatal (a standby)
        reloadAfterDiskFull(expectedLastLSN: written)
    }

    /// Replaces the keyspace and the writer with what recovery finds on the disk.
    private func reloadAfterDiskFull(expectedLastLSN: LSN) {
        let directory = configuration.dataDirectory
        let recovered: RecoveredState
        do {
            wal.close()
            recovered = try Recovery.recover(dataDirectory: directory, logger: logger)
            guard recovered.lastLSN == expectedLastLSN else {
                throw StorageError(.invalidState, "recovery after the full disk ends at LSN \(recovered.lastLSN), the log had written \(expectedLastLSN)")
            }
            wal = try WALWriter.open(
                dataDirectory: directory, after: recovered,
                configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
        } catch {
            failWAL("cannot reload the log after a full disk: \(error)")
            return
        }
        let deletesExpiredKeys = keyspace.deletesExpiredKeys
        keyspace = recovered.keyspace
        keyspace.deletesExpiredKeys = deletesExpiredKeys
        durableLSN = max(durableLSN, recovered.lastLSN)
        replication.bytesReportedWritten = wal.totalBytesWritten
        scheduleDiskProbe(afterMilliseconds: Self.diskProbeInitialDelayMilliseconds)
    }

    /// Tries to create the next segment after `delay`; again with twice the delay while the
    /// disk is still full.
    private func scheduleDiskProbe(afterMilliseconds delay: Int64) {
        eventLoop.scheduleTask(in: .milliseconds(delay)) {
            guard self.node.diskFull != nil, self.walFailure == nil, !self.isStopping else { return }
            do {
                try self.wal.openNextSegment()
            } catch where WALWriter.isOutOfSpace(error) {
                self.logger.debug("disk still full", metadata: ["retry_ms": "\(delay * 2)", "error": "\(error)"])
                self.scheduleDiskProbe(afterMilliseconds: min(delay * 2, Self.diskProbeMaxDelayMilliseconds))
                return
            } catch {
                self.failWAL("cannot create a WAL segment after a full disk: \(error)")
                return
            }
            self.perform(self.node.diskSpaceReturned(nowMilliseconds: WallClock.monotonicMilliseconds()))
        }
    }
}
