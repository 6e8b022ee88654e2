/// When the write-ahead log is forced to disk, as Redis's `appendfsync`.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// A client gets its reply only after its record is on disk (group commit). The default.
    case always
    /// Records are written to the OS at once and forced to disk about once a second.
    case everysec
    /// Records are written to the OS; the OS decides when they reach the disk.
    case no
}
