import Glibc
import UnderstudyCore

/// Moves WAL segments and snapshots out of the way, into
/// `<data-dir>/discarded/<unix-ms>/{wal,snapshots}`, instead of deleting them: what a
/// node throws away when it takes a primary's snapshot, or when it rewinds a divergent
/// log, may be the only copy of something, so a human decides when it goes.
enum DiscardedLog {
    static let directoryName = "discarded"

    /// Moves `wal/` (if it holds anything) and every snapshot file aside, syncing each
    /// directory whose entries changed. Returns the directory they went to, or nil if
    /// there was nothing to move. `wal/` no longer exists afterwards.
    ///
    /// The WAL goes first: a crash midway leaves a node that recovers to one of its own
    /// older snapshots with no log after it (behind, never a mixture of two histories).
    static func moveAside(dataDirectory: String, nowUnixMilliseconds: Int64) throws -> String? {
        let wal = StorageLayout.walDirectory(dataDirectory)
        let walEntries = FileIO.fileExists(wal) ? try FileIO.listDirectory(wal) : []
        let snapshots = try SnapshotFormat.list(dataDirectory: dataDirectory)
        guard !walEntries.isEmpty || !snapshots.isEmpty else { return nil }

        let target = try makeTarget(dataDirectory: dataDirectory, nowUnixMilliseconds: nowUnixMilliseconds)
        if !walEntries.isEmpty {
            try FileIO.rename(wal, to: target + "/wal")
            try FileIO.syncDirectory(target)
            try FileIO.syncDirectory(dataDirectory)
        }
        try moveSnapshots(snapshots, to: target, dataDirectory: dataDirectory)
        return target
    }

    /// Moves the given WAL segment files, then the given snapshot files, aside. Returns
    /// the directory they went to, or nil if both lists are empty.
    ///
    /// Segments go newest first, each rename made durable before the next, so a crash
    /// midway leaves a log that is a contiguous prefix of the old one (the caller passes
    /// a suffix of the log: every segment from some first LSN on). The snapshots go
    /// after them: until then recovery still finds every snapshot it used to, and a log
    /// that ends before the newest snapshot recovers to that snapshot.
    static func moveAside(
        segments: [WALSegmentInfo],
        snapshots: [(lsn: LSN, path: String)],
        dataDirectory: String,
        nowUnixMilliseconds: Int64
    ) throws -> String? {
        guard !segments.isEmpty || !snapshots.isEmpty else { return nil }
        let target = try makeTarget(dataDirectory: dataDirectory, nowUnixMilliseconds: nowUnixMilliseconds)
        if !segments.isEmpty {
            let walTarget = target + "/wal"
            try FileIO.makeDirectory(walTarget)
            try FileIO.syncDirectory(target)
            for segment in segments.sorted(by: { $0.firstLSN > $1.firstLSN }) {
                try FileIO.rename(segment.path, to: walTarget + "/" + WALFormat.segmentName(firstLSN: segment.firstLSN))
                try FileIO.syncDirectory(walTarget)
                try FileIO.syncDirectory(StorageLayout.walDirectory(dataDirectory))
            }
        }
        try moveSnapshots(snapshots, to: target, dataDirectory: dataDirectory)
        return target
    }

    /// The wall clock, for callers that name a discarded directory after the current time.
    static func currentUnixMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Creates `<data-dir>/discarded/<unix-ms>` (the parent too, if missing).
    private static func makeTarget(dataDirectory: String, nowUnixMilliseconds: Int64) throws -> String {
        let parent = dataDirectory + "/" + directoryName
        if try FileIO.makeDirectory(parent) { try FileIO.syncDirectory(dataDirectory) }
        return try makeUniqueDirectory(in: parent, named: String(nowUnixMilliseconds))
    }

    /// Moves `snapshots` into `<target>/snapshots` and makes both directories durable.
    private static func moveSnapshots(_ snapshots: [(lsn: LSN, path: String)], to target: String, dataDirectory: String) throws {
        guard !snapshots.isEmpty else { return }
        let snapshotTarget = target + "/snapshots"
        try FileIO.makeDirectory(snapshotTarget)
        try FileIO.syncDirectory(target)
        for snapshot in snapshots {
            try FileIO.rename(snapshot.path, to: snapshotTarget + "/" + SnapshotFormat.fileName(lsn: snapshot.lsn))
        }
        try FileIO.syncDirectory(snapshotTarget)
        try FileIO.syncDirectory(StorageLayout.snapshotDirectory(dataDirectory))
    }

    /// `<parent>/<name>`, or `<name>-2`, `<name>-3`… if taken (two moves in one ms).
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
}
