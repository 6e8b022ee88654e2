public import UnderstudyCore

/// What `WALRewind.cutSuffix` cut off and where it went. The caller MUST log it (the count
/// and the LSN range at least): loss is never silent.
public struct RewindReport: Sendable, Equatable {
    /// Records cut off the WAL and written to `path`; 0 when nothing was cut.
    public var recordCount: Int
    /// The first cut LSN, nil when nothing was cut.
    public var firstLSN: LSN?
    /// The last cut LSN, nil when nothing was cut.
    public var lastLSN: LSN?
    /// The lost-writes file (`<data-dir>/lost-writes/…jsonl`), nil when nothing was cut.
    public var path: String?
    /// True if the files that remained could not rebuild the state through the fork point
    /// (its WAL had been pruned behind a snapshot newer than the fork point, say), so the
    /// whole WAL and every snapshot were set aside: the node starts empty and MUST fetch a
    /// snapshot from its primary. The records up to the fork point that went aside with
    /// them are not lost (the primary has them) and are not in `path`.
    public var stateReset: Bool
    /// Where the cut segments and the snapshots newer than the fork point were moved
    /// (`<data-dir>/discarded/<unix-ms>`), or the whole log after a reset; nil if nothing
    /// was moved.
    public var discardedPath: String?
    /// Cut LSNs whose records were no longer in the WAL (pruned behind a snapshot newer
    /// than the fork point): they are not in `path`, and their effects survive only inside
    /// the snapshot moved to `discardedPath`. Nil in the usual case.
    public var snapshotOnlyLSNs: ClosedRange<LSN>?

    public init(
        recordCount: Int = 0,
        firstLSN: LSN? = nil,
        lastLSN: LSN? = nil,
        path: String? = nil,
        stateReset: Bool = false,
        discardedPath: String? = nil,
        snapshotOnlyLSNs: ClosedRange<LSN>? = nil
    ) {
        self.recordCount = recordCount
        self.firstLSN = firstLSN
        self.lastLSN = lastLSN
        self.path = path
        self.stateReset = stateReset
        self.discardedPath = discardedPath
        self.snapshotOnlyLSNs = snapshotOnlyLSNs
    }
}
