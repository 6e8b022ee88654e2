import Glibc
import Logging
import Synchronization
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

/// A fresh directory under /tmp, removed (recursively) when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/understudy-storage-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard result != nil else { throw StorageError(.io, "mkdtemp failed") }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { TemporaryDirectory.removeTree(path) }

    var walDirectory: String { StorageLayout.walDirectory(path) }
    var snapshotDirectory: String { StorageLayout.snapshotDirectory(path) }

    private static func removeTree(_ path: String) {
        if let names = try? FileIO.listDirectory(path) {
            for name in names { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Collects log messages so tests can check what recovery said.
final class LogCapture: Sendable {
    private let lines = Mutex<[(level: Logger.Level, message: String)]>([])

    var logger: Logger {
        var logger = Logger(label: "test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    var messages: [(level: Logger.Level, message: String)] { lines.withLock { $0 } }

    func messages(containing text: String) -> [String] {
        messages.map(\.message).filter { $0.contains(text) }
    }

    fileprivate func record(_ level: Logger.Level, _ message: String) {
        lines.withLock { $0.append((level, message)) }
    }
}

private struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.record(event.level, event.message.description)
    }
}

/// Test records: mostly sets, with the other effect kinds mixed in.
func testRecord(_ index: Int) -> [Effect] {
    let key = Array("key-\(index % 50)".utf8)
    switch index % 10 {
    case 3: return [.delete(key: key)]
    case 5: return [.setExpiry(key: key, expireAtMilliseconds: 1_700_000_000_000 + Int64(index))]
    case 7: return [.rename(from: key, to: Array("renamed-\(index)".utf8)), .set(key: key, value: [UInt8(index & 0xFF)], expireAtMilliseconds: nil)]
    default: return [.set(key: key, value: Array("value-\(index)".utf8), expireAtMilliseconds: index % 4 == 0 ? Int64(index) : nil)]
    }
}

/// The keyspace that records `1...count` produce.
func expectedKeyspace(records range: ClosedRange<Int>, from start: Keyspace = Keyspace()) -> Keyspace {
    var keyspace = start
    for index in range { keyspace.apply(testRecord(index)) }
    return keyspace
}

/// Where each record's frame ends in its segment, as the writer laid it out.
struct WrittenLog {
    /// For every written LSN (index 0 = LSN 1 of this run): the segment path and the file
    /// offset just past its frame.
    var frameEnds: [(path: String, end: Int64)] = []
}

/// Recovers `directory`, appends records `first...last` one write each, syncs, closes.
@discardableResult
func writeRecords(
    _ range: ClosedRange<Int>,
    in directory: TemporaryDirectory,
    segmentMaxBytes: Int64 = 64 << 20,
    epoch: Epoch = .initial
) throws -> WrittenLog {
    let recovered = try Recovery.recover(dataDirectory: directory.path, logger: LogCapture().logger)
    let writer = try WALWriter.open(dataDirectory: directory.path, after: recovered, configuration: .init(segmentMaxBytes: segmentMaxBytes))
    var log = WrittenLog()
    for index in range {
        let lsn = try writer.append(epoch: epoch, effects: testRecord(index))
        #expect(lsn == LSN(UInt64(index)))
        try writer.writePending()
        let path = directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: writer.activeSegmentFirstLSN)
        log.frameEnds.append((path, try FileIO.size(atPath: path)))
    }
    if let job = writer.makeSyncJob() { _ = try job.run() }
    writer.close()
    return log
}

func recover(_ directory: TemporaryDirectory, _ capture: LogCapture = LogCapture()) throws -> RecoveredState {
    try Recovery.recover(dataDirectory: directory.path, logger: capture.logger)
}

func fileBytes(_ path: String) throws -> [UInt8] {
    let descriptor = try FileIO.open(path, flags: O_RDONLY)
    defer { close(descriptor) }
    return try FileIO.readWholeFile(descriptor, path: path)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let descriptor = try FileIO.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
    defer { close(descriptor) }
    try FileIO.writeAll(descriptor, bytes, path: path)
}

/// Flips one bit of the file at `offset`.
func corrupt(_ path: String, at offset: Int) throws {
    var bytes = try fileBytes(path)
    bytes[offset] ^= 0x40
    try writeFile(path, bytes)
}

/// Runs `body` and returns the `StorageError` it throws (failing the test if it does not).
func storageError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> StorageError? {
    do {
        try body()
        Issue.record("expected a StorageError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StorageError {
        return error
    } catch {
        Issue.record("expected a StorageError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
