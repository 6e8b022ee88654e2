public import UnderstudyCore

/// One WAL segment file on disk.
public struct WALSegmentInfo: Sendable, Equatable {
    public var path: String
    /// The LSN of the segment's first record (from its name).
    public var firstLSN: LSN
    /// The file size in bytes.
    public var bytes: Int64
}

/// Listing and pruning of WAL segment files.
public enum WALSegments {
    /// The segment files of `<data-dir>/wal`, sorted by first LSN. Other files are ignored.
    public static func list(dataDirectory: String) throws -> [WALSegmentInfo] {
        let directory = StorageLayout.walDirectory(dataDirectory)
        guard FileIO.fileExists(directory) else { return [] }
        var segments: [WALSegmentInfo] = []
        for name in try FileIO.listDirectory(directory) {
            guard let firstLSN = WALFormat.firstLSN(ofSegmentNamed: name) else { continue }
            let path = directory + "/" + name
            segments.append(WALSegmentInfo(path: path, firstLSN: firstLSN, bytes: try FileIO.size(atPath: path)))
        }
        return segments.sorted { $0.firstLSN < $1.firstLSN }
    }

    /// Removes sealed segments whose records are all covered by a snapshot, keeping the
    /// newest of them until at least `retainBytes` are kept (history for a standby that
    /// catches up from the log). Returns the removed paths, oldest first.
    ///
    /// A segment's records end where the next segment begins, so a segment is covered when
    /// the next segment's first LSN is ≤ `snapshotLSN + 1`. The segment starting at
    /// `activeSegmentFirstLSN` (from `WALWriter.activeSegmentFirstLSN`) and later ones
    /// are never removed, so this is safe on a background thread while the writer
    /// appends. Files are removed oldest first, so a crash midway leaves a contiguous log.
    ///
    /// Callers SHOULD pass the LSN of the *oldest* snapshot kept on disk (not the newest),
    /// so that recovery can still fall back to it if the newest one is damaged, and MUST
    /// only pass an LSN whose snapshot is durable (`SnapshotWriter.write` has returned).
    public static func prune(
        dataDirectory: String,
        coveredBy snapshotLSN: LSN,
        retainBytes: Int64,
        activeSegmentFirstLSN: LSN
    ) throws -> [String] {
        let segments = try list(dataDirectory: dataDirectory)
        var covered: [WALSegmentInfo] = []
        for (index, segment) in segments.enumerated() {
            guard index + 1 < segments.count, segment.firstLSN < activeSegmentFirstLSN else { break }
            guard segments[index + 1].firstLSN.rawValue - 1 <= snapshotLSN.rawValue else { break }
            covered.append(segment)
        }
        var removeCount = covered.count
        var keptBytes: Int64 = 0
        while removeCount > 0 && keptBytes < retainBytes {
            removeCount -= 1
            keptBytes += covered[removeCount].bytes
        }
        let removed = covered.prefix(removeCount).map(\.path)
        for path in removed {
            try FileIO.remove(path)
        }
        if !removed.isEmpty {
            try FileIO.syncDirectory(StorageLayout.walDirectory(dataDirectory))
        }
        return removed
    }
}
