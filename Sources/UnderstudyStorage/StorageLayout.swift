/// Where storage keeps its files inside a node's data directory.
///
///     <data-dir>/wal/00000000000000000001.wal      WAL segments, named by first LSN
///     <data-dir>/snapshots/snapshot-00000000000000000100.snap
public enum StorageLayout {
    public static func walDirectory(_ dataDirectory: String) -> String {
        dataDirectory + "/wal"
    }

    public static func snapshotDirectory(_ dataDirectory: String) -> String {
        dataDirectory + "/snapshots"
    }
}
