import UnderstudyCore

/// A sparse map from LSN to byte offset within one WAL segment, built from the frames a
/// `WALReader` has walked, so that a repeated seek scans at most one stride of headers.
///
/// Entries are only added in order, from the segment's first frame onwards, so the map
/// is never wrong about a boundary it holds: `frontier` is the furthest frame start
/// known, and everything before it was walked frame by frame.
struct WALSegmentIndex {
    /// A new entry is kept after this many bytes or frames since the previous one.
    static let strideBytes: Int64 = 64 << 10
    static let strideFrames: UInt64 = 1024

    /// (LSN, offset of its frame) pairs, ascending; the first is the segment's first frame.
    private(set) var entries: [(lsn: LSN, offset: Int64)]
    /// The furthest known frame start (possibly the end of the data written so far).
    private(set) var frontier: (lsn: LSN, offset: Int64)

    init(firstLSN: LSN) {
        let start = (lsn: firstLSN, offset: Int64(WALFormat.segmentHeaderBytes))
        entries = [start]
        frontier = start
    }

    /// Records that the frame for `lsn` starts at `offset`. Ignored unless it continues
    /// the frontier (the frame for `lsn - 1` ended there).
    mutating func extend(lsn: LSN, offset: Int64) {
        guard lsn.rawValue == frontier.lsn.rawValue + 1 else { return }
        precondition(offset > frontier.offset, "frame boundaries only grow: \(offset) after \(frontier.offset)")
        frontier = (lsn, offset)
        let last = entries[entries.count - 1]
        if offset - last.offset >= WALSegmentIndex.strideBytes || lsn.rawValue - last.lsn.rawValue >= WALSegmentIndex.strideFrames {
            entries.append(frontier)
        }
    }

    /// The known frame start closest to `lsn` from below (`lsn` ≥ the first LSN).
    func start(for lsn: LSN) -> (lsn: LSN, offset: Int64) {
        if lsn >= frontier.lsn { return frontier }
        var low = 0
        var high = entries.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if entries[middle].lsn <= lsn { low = middle } else { high = middle - 1 }
        }
        return entries[low]
    }
}
