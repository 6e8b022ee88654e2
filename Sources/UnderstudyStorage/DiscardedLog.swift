import Glibc
import UnderstudyCore

/// Moves a node's WAL and snapshots out of the way, into
/// `<data-dir>/discarded/<unix-ms>/{wal,snapshots}`, instead of deleting them: what a
/// node throws away when it takes a primary's snapshot may be the only copy of something,
/// so a human decides when it goes.
enum DiscardedLog {
    static let directoryName = "discarded"

    /// Moves `wal/` (if it holds anything) and every snapshot file aside, syncing each
    /// directory whose entries changed. Returns the directory they went to, or nil if
    /// there was nothing to move. `wal/` no longer exists afterwards.
    ///
    /// The WAL goes first: a crash midway leaves a node that recovers to one of its own
    /// older snapshots with no log after it (behind, never a mixture of two histories).
    static func moveAside(dataDirectory: String) throws -> String? {
        let wal = StorageLayout.walDirectory(dataDirectory)
        let walEntries = FileIO.fileExists(wal) ? try FileIO.listDirectory(wal) : []
        let snapshots = try SnapshotFormat.list(dataDirectory: dataDirectory)
        guard !walEntries.isEmpty || !snapshots.isEmpty else { return nil }

        let parent = dataDirectory + "/" + directoryName
        if try FileIO.makeDirectory(parent) { try FileIO.syncDirectory(dataDirectory) }
        let target = try makeUniqueDirectory(in: parent, named: String(unixMilliseconds()))
        if !walEntries.isEmpty {
            try FileIO.rename(wal, to: target + "/wal")
            try FileIO.syncDirectory(target)
            try FileIO.syncDirectory(dataDirectory)
        }
        if !snapshots.isEmpty {
            let snapshotTarget = target + "/snapshots"
            try FileIO.makeDirectory(snapshotTarget)
            try FileIO.syncDirectory(target)
            for snapshot in snapshots {
                try FileIO.rename(snapshot.path, to: snapshotTarget + "/" + SnapshotFormat.fileName(lsn: snapshot.lsn))
            }
            try FileIO.syncDirectory(snapshotTarget)
            try FileIO.syncDirectory(StorageLayout.snapshotDirectory(dataDirectory))
        }
        return target
    }

    /// `<parent>/<name>`, or `<name>-2`, `<name>-3`… if taken (two installs in one ms).
    private static func makeUniqueDirectory(in parent: String, named name: String) throws -> String {
        for attempt in 1...1000 {
            let path = parent + "/" + (attempt == 1 ? name : "\(name)-\(attempt)")
            if try FileIO.makeDirectory(path) {
                try FileIO.syncDirectory(parent)
                return path
            }
        }
        throw StorageError(.invalidState, "could not find a free directory name for \(name)", path: parent)
    }

    private static func unixMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
