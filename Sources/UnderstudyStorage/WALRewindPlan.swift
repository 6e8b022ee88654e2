import UnderstudyCore

/// What `WALRewind.cutSuffix` will do to a data directory, worked out from its files
/// before anything changes. Reads the directory listings and walks frame headers; CRCs
/// are checked later, when the cut records are read for the lost-writes file.
struct WALRewindPlan {
    let keepThrough: LSN
    /// The LSNs of the WAL records after `keepThrough`, nil if there are none.
    private(set) var cutLSNs: ClosedRange<LSN>?
    /// LSNs after `keepThrough` that only divergent snapshots hold (their records were
    /// pruned from the WAL), nil if there are none.
    private(set) var snapshotOnlyLSNs: ClosedRange<LSN>?
    /// Snapshots with an LSN above `keepThrough`, newest first.
    private(set) var divergentSnapshots: [(lsn: LSN, path: String)]
    /// Segments whose every record is after `keepThrough` (their first LSN is above it).
    private(set) var laterSegments: [WALSegmentInfo]
    /// The segment holding `keepThrough` and the offset just past its frame, when records
    /// after it follow in that segment.
    private(set) var truncation: (path: String, offset: Int64)?
    /// Whether the snapshots and WAL that remain after the cut rebuild the state through
    /// `keepThrough`: the newest remaining snapshot is at `keepThrough`, or the WAL holds
    /// every record from just after that snapshot (or from LSN 1) through `keepThrough`.
    private(set) var canRebuild: Bool

    init(dataDirectory: String, keepThrough: LSN) throws {
        self.keepThrough = keepThrough
        let reader = WALReader(dataDirectory: dataDirectory)
        let segments = try WALSegments.list(dataDirectory: dataDirectory)
        let snapshots = try SnapshotFormat.list(dataDirectory: dataDirectory)
        laterSegments = segments.filter { $0.firstLSN > keepThrough }
        divergentSnapshots = snapshots.filter { $0.lsn > keepThrough }

        var keepThroughInWAL = false
        if let oldest = segments.first?.firstLSN, let last = try reader.lastLSN() {
            let firstCut = max(keepThrough.next, oldest)
            cutLSNs = firstCut <= last ? firstCut...last : nil
            keepThroughInWAL = oldest <= keepThrough && keepThrough <= last
            if keepThroughInWAL && keepThrough < last {
                guard let start = try reader.frameStart(of: keepThrough.next) else {
                    throw StorageError(.lsnGap, "the log ends at LSN \(last) but holds no frame for LSN \(keepThrough.next)", path: StorageLayout.walDirectory(dataDirectory))
                }
                if start.segmentFirstLSN <= keepThrough { truncation = (start.path, start.offset) }
            }
        }
        let base = snapshots.first { $0.lsn <= keepThrough }?.lsn ?? .zero
        let walReachesBackToBase = segments.first.map { $0.firstLSN <= base.next } ?? false
        canRebuild = base == keepThrough || (keepThroughInWAL && walReachesBackToBase)

        if let newestDivergent = divergentSnapshots.first?.lsn {
            let beforeWAL = LSN((cutLSNs?.lowerBound ?? newestDivergent.next).rawValue - 1)
            let end = min(newestDivergent, beforeWAL)
            snapshotOnlyLSNs = keepThrough.next <= end ? keepThrough.next...end : nil
        }
    }
}
