/// An operating error from the storage layer: what failed, where, and why.
///
/// Messages name the file and, for log and snapshot defects, the byte offset, so that an
/// operator can look at the exact spot.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. A struct so that codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A system call failed (`errno` says which way).
        public static let io = Code("io")
        /// A WAL segment is damaged before its tail; the node MUST NOT start on it.
        public static let corruptLog = Code("corruptLog")
        /// WAL records are missing or out of order (a gap or overlap in LSNs).
        public static let lsnGap = Code("lsnGap")
        /// A snapshot file failed validation.
        public static let corruptSnapshot = Code("corruptSnapshot")
        /// A file was written by a newer (or unknown) format version.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// A record is larger than the configured limit.
        public static let recordTooLarge = Code("recordTooLarge")
        /// The WAL writer failed earlier and refuses further work until it is reopened.
        public static let writerFailed = Code("writerFailed")
        /// The caller asked for something the on-disk state does not allow.
        public static let invalidState = Code("invalidState")
        /// The WAL records asked for are no longer on disk: their segment was pruned (or
        /// vanished while being read). A replication sender falls back to a snapshot.
        public static let walNotRetained = Code("walNotRetained")
        /// Frames handed to `WALWriter.appendFrames` or `WALFormat.decodeFrames` are not
        /// whole, checksum-valid, decodable frames with non-decreasing epochs. Nothing
        /// was appended.
        public static let invalidFrames = Code("invalidFrames")
        /// The epoch history file (`<data-dir>/epochs`) is damaged: the node MUST NOT
        /// start on it (its epoch could go backwards).
        public static let corruptEpochHistory = Code("corruptEpochHistory")
        /// A snapshot transfer broke its announcement (more or fewer bytes than announced,
        /// another LSN, a checksum mismatch). The transfer was abandoned and its temporary
        /// file removed: the node is unchanged.
        public static let snapshotTransfer = Code("snapshotTransfer")
    }

    public var code: Code
    public var message: String
    /// The file or directory involved, when there is one.
    public var path: String?
    /// The byte offset within `path`, for format defects.
    public var offset: Int64?
    /// The `errno` of a failed system call.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path {
            text += " [file \(path)"
            if let offset { text += " at offset \(offset)" }
            text += "]"
        }
        return text
    }
}
