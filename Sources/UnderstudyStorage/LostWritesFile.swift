import Glibc
import UnderstudyCore

/// The file in which `WALRewind` leaves the records it cuts off, for the operator:
/// `<data-dir>/lost-writes/<unix-ms>-lsn-<first>-<last>.jsonl`.
///
/// JSON Lines: UTF-8, one JSON object per line, each line ending in `\n`. The first line
/// describes the cut; every further line is one record, in LSN order:
///
///     {"format":"understudy-lost-writes","version":1,"cutAtUnixMilliseconds":T,
///      "keptThroughLSN":K,"cutByEpoch":E,"firstLSN":F,"lastLSN":L,"recordCount":N,
///      "snapshotOnlyLSNs":null}
///     {"lsn":F,"epoch":1,"effects":[{"op":"set","key":"a","value":"1","expireAtMilliseconds":null}]}
///
/// (The header is one line in the file.) `snapshotOnlyLSNs` is `[first,last]` when cut
/// LSNs were no longer in the WAL and survive only in a set-aside snapshot. Effects:
///
///     {"op":"set","key":B,"value":B,"expireAtMilliseconds":ms|null}
///     {"op":"delete","key":B}
///     {"op":"setExpiry","key":B,"expireAtMilliseconds":ms|null}     (null: PERSIST)
///     {"op":"rename","from":B,"to":B}
///     {"op":"flushAll"}
///     {"op":"append","key":B,"suffix":B}
///     {"op":"setRange","key":B,"offset":n,"bytes":B}
///
/// A byte string `B` is a JSON string when its bytes are valid UTF-8 (escaped as JSON
/// requires: `"`, `\` and every control character below U+0020), and otherwise an object
/// `{"base64":"…"}` (RFC 4648 alphabet, padded). Integers are plain decimals.
enum LostWritesFile {
    static let format = "understudy-lost-writes"
    static let version = 1
    static let temporarySuffix = ".tmp"
    /// Lines are handed to the kernel once this many bytes have gathered.
    static let writeBufferBytes = 1 << 20
    /// How many bytes of frames one read from the WAL takes.
    static let readBatchBytes = 1 << 20

    /// What the first line says about the cut.
    struct Header {
        var cutAtUnixMilliseconds: Int64
        var keptThroughLSN: LSN
        var cutByEpoch: Epoch
        var lsns: ClosedRange<LSN>
        var snapshotOnlyLSNs: ClosedRange<LSN>?
    }

    static func fileName(nowUnixMilliseconds: Int64, lsns: ClosedRange<LSN>) -> String {
        "\(nowUnixMilliseconds)-lsn-\(lsns.lowerBound)-\(lsns.upperBound).jsonl"
    }

    /// Reads the records `header.lsns` from the WAL and writes them as the lost-writes
    /// file: to a temporary file, `fsync`, `rename` (replacing a file of the same name
    /// left by an earlier run with the same arguments, which holds the same records),
    /// `fsync` of `lost-writes/`. Once this returns the file survives a power failure.
    /// Returns its path and how many records it holds. A leftover temporary file of an
    /// interrupted run is removed first: it was never renamed, so the WAL was not touched
    /// after it and still holds its records.
    ///
    /// - Throws: `.invalidState` if a record's epoch is not below `header.cutByEpoch` (a
    ///   record of the cutting primary's own history is not divergent: the fork point is
    ///   wrong), `.corruptLog` or `.lsnGap` for a damaged WAL, `.io`. Nothing is left
    ///   behind but possibly the temporary file.
    static func write(_ header: Header, dataDirectory: String) throws -> (path: String, recordCount: Int) {
        let directory = StorageLayout.lostWritesDirectory(dataDirectory)
        if try FileIO.makeDirectory(directory) { try FileIO.syncDirectory(dataDirectory) }
        for name in try FileIO.listDirectory(directory) where name.hasSuffix(temporarySuffix) {
            try FileIO.remove(directory + "/" + name)
        }
        let path = directory + "/" + fileName(nowUnixMilliseconds: header.cutAtUnixMilliseconds, lsns: header.lsns)
        let recordCount = try FileIO.replaceDurably(path, directory: directory, temporarySuffix: temporarySuffix) { descriptor, temporaryPath in
            try writeContent(header, dataDirectory: dataDirectory, to: descriptor, path: temporaryPath)
        }
        return (path, recordCount)
    }

    private static func writeContent(_ header: Header, dataDirectory: String, to descriptor: Int32, path: String) throws -> Int {
        var buffer: [UInt8] = []
        appendHeaderLine(header, to: &buffer)
        let reader = WALReader(dataDirectory: dataDirectory)
        try reader.seek(to: header.lsns.lowerBound)
        var recordCount = 0
        while let batch = try reader.readFrames(upTo: header.lsns.upperBound, maxBytes: readBatchBytes) {
            for record in try decode(batch, dataDirectory: dataDirectory) {
                guard record.epoch < header.cutByEpoch else {
                    throw StorageError(
                        .invalidState,
                        "record LSN \(record.lsn) has epoch \(record.epoch), not below epoch \(header.cutByEpoch) that cuts it: it is not divergent, so the fork point LSN \(header.keptThroughLSN) is wrong",
                        path: StorageLayout.walDirectory(dataDirectory)
                    )
                }
                appendRecordLine(record, to: &buffer)
                recordCount += 1
            }
            if buffer.count >= writeBufferBytes {
                try FileIO.writeAll(descriptor, buffer, path: path)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try FileIO.writeAll(descriptor, buffer, path: path)
        let expected = header.lsns.upperBound.rawValue - header.lsns.lowerBound.rawValue + 1
        guard UInt64(recordCount) == expected else {
            throw StorageError(.invalidState, "read \(recordCount) records for LSNs \(header.lsns), expected \(expected): the WAL changed under the rewind", path: path)
        }
        return recordCount
    }

    /// The frames were CRC-checked by the reader; a payload that does not decode is
    /// damage in the log.
    private static func decode(_ batch: WALFrameBatch, dataDirectory: String) throws -> [WALRecord] {
        do {
            return try WALFormat.decodeFrames(batch.bytes)
        } catch var error as StorageError {
            error.code = .corruptLog
            error.message = "WAL records \(batch.firstLSN)...\(batch.lastLSN) read for the lost-writes file: \(error.message)"
            error.path = StorageLayout.walDirectory(dataDirectory)
            error.offset = nil
            throw error
        }
    }
}
