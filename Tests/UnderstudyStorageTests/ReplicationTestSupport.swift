import Testing
import UnderstudyCore
@testable import UnderstudyStorage

/// The frames the writer produces for test records `range` (LSN = record index), built
/// independently of any file.
func expectedFrames(_ range: ClosedRange<Int>, epoch: (Int) -> Epoch = { _ in .initial }) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for index in range {
        try WALFormat.appendFrame(epoch: epoch(index), lsn: LSN(UInt64(index)), effects: testRecord(index), to: &bytes)
    }
    return bytes
}

/// A primary's log with its writer kept open, so tests can append while reading.
final class LiveLog {
    let directory: TemporaryDirectory
    let writer: WALWriter

    init(segmentMaxBytes: Int64 = 64 << 20, directory: TemporaryDirectory? = nil) throws {
        self.directory = try directory ?? TemporaryDirectory()
        writer = try WALWriter.open(dataDirectory: self.directory.path, after: try recover(self.directory), configuration: .init(segmentMaxBytes: segmentMaxBytes))
    }

    /// Appends records `range` (LSN = index), writing every `recordsPerWrite` of them.
    func write(_ range: ClosedRange<Int>, recordsPerWrite: Int = 1, epoch: Epoch = .initial) throws {
        for index in range {
            #expect(try writer.append(epoch: epoch, effects: testRecord(index)) == LSN(UInt64(index)))
            if (index - range.lowerBound + 1) % recordsPerWrite == 0 { try writer.writePending() }
        }
        try writer.writePending()
    }

    func sync() throws {
        if let job = writer.makeSyncJob() { _ = try job.run() }
    }

    var reader: WALReader { WALReader(dataDirectory: directory.path) }
}

/// Every frame byte in a data directory's segments (headers stripped), oldest first: the
/// log's content independent of where segments were cut.
func segmentFrameBytes(_ directory: TemporaryDirectory) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for segment in try WALSegments.list(dataDirectory: directory.path) {
        bytes += try fileBytes(segment.path).dropFirst(WALFormat.segmentHeaderBytes)
    }
    return bytes
}

/// Reads every frame from `lsn` up to `lastLSN` in batches of `maxBytes`.
func readAll(_ reader: WALReader, from lsn: LSN, upTo lastLSN: LSN, maxBytes: Int) throws -> (bytes: [UInt8], batches: [WALFrameBatch]) {
    try reader.seek(to: lsn)
    var bytes: [UInt8] = []
    var batches: [WALFrameBatch] = []
    while let batch = try reader.readFrames(upTo: lastLSN, maxBytes: maxBytes) {
        bytes += batch.bytes
        batches.append(batch)
    }
    return (bytes, batches)
}

/// The epoch history as `(epoch, firstLSN)` pairs, encoded as the opaque payload stored
/// by `DurableStateFile.epochHistory` (the real encoding belongs to the core's `EpochHistory`).
func encodeHistory(_ pairs: [(epoch: UInt64, firstLSN: UInt64)]) -> [UInt8] {
    var bytes: [UInt8] = []
    for pair in pairs {
        bytes.appendUInt64(pair.epoch)
        bytes.appendUInt64(pair.firstLSN)
    }
    return bytes
}

func decodeHistory(_ bytes: [UInt8]) -> [(epoch: UInt64, firstLSN: UInt64)] {
    bytes.withUnsafeBytes { raw in
        stride(from: 0, to: raw.count, by: 16).map { (raw.readUInt64(at: $0), raw.readUInt64(at: $0 + 8)) }
    }
}
