/// Where storage keeps its files inside a node's data directory.
///
///     <data-dir>/wal/00000000000000000001.wal      WAL segments, named by first LSN
///     <data-dir>/snapshots/snapshot-00000000000000000100.snap
///     <data-dir>/lost-writes/<unix-ms>-lsn-<first>-<last>.jsonl   records a rewind cut off
///     <data-dir>/discarded/<unix-ms>/{wal,snapshots}/…            files set aside, kept
public enum StorageLayout {
    public static func walDirectory(_ dataDirectory: String) -> String {
        dataDirectory + "/wal"
    }

    public static func snapshotDirectory(_ dataDirectory: String) -> String {
        dataDirectory + "/snapshots"
    }

    /// Where `WALRewind` writes the records it cuts off, for the operator.
    public static func lostWritesDirectory(_ dataDirectory: String) -> String {
        dataDirectory + "/lost-writes"
    }
}
