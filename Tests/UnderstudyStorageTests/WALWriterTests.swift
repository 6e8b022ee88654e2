import Glibc
import Synchronization
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALWriterTests {
    @Test func append_assignsContiguousLSNs_withoutWriting() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        #expect(try writer.append(epoch: .initial, effects: testRecord(1)) == LSN(1))
        #expect(try writer.append(epoch: .initial, effects: testRecord(2)) == LSN(2))
        #expect(writer.lastAppendedLSN == LSN(2))
        #expect(writer.lastWrittenLSN == .zero)
        #expect(writer.pendingBytes > 0)
        #expect(try WALSegments.list(dataDirectory: directory.path).isEmpty)
        #expect(writer.makeSyncJob() == nil)
    }

    @Test func writePending_thenSyncJob_makesRecordsRecoverable() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        for index in 1...10 { _ = try writer.append(epoch: .initial, effects: testRecord(index)) }
        #expect(try writer.writePending() == LSN(10))
        #expect(writer.pendingBytes == 0)
        let job = try #require(writer.makeSyncJob())
        #expect(try job.run() == LSN(10))
        #expect(writer.makeSyncJob() == nil)
        writer.close()
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(10))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...10).entries)
    }

    @Test func rollover_startsSegmentsNamedByFirstLSN_andSyncJobCoversRetiredOnes() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 200))
        var firstLSNs: [LSN] = []
        for index in 1...40 {
            _ = try writer.append(epoch: .initial, effects: testRecord(index))
            try writer.writePending()
            if firstLSNs.last != writer.activeSegmentFirstLSN { firstLSNs.append(writer.activeSegmentFirstLSN) }
        }
        #expect(firstLSNs.count > 3)
        let job = try #require(writer.makeSyncJob())
        #expect(job.files.count == firstLSNs.count)  // every retired segment plus the active one
        #expect(job.directoryToSync != nil)
        _ = try job.run()
        #expect(try WALSegments.list(dataDirectory: directory.path).map(\.firstLSN) == firstLSNs)
        writer.close()
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...40).entries)
    }

    @Test func syncOnAnotherThread_whileTheOwnerKeepsWriting() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory), configuration: .init(segmentMaxBytes: 4096))
        let worker = SyncWorker()
        var durable = LSN.zero
        for index in 1...500 {
            _ = try writer.append(epoch: .initial, effects: testRecord(index))
            if index % 7 == 0 {
                try writer.writePending()
                if let job = writer.makeSyncJob() { worker.submit(job) }
            }
            durable = max(durable, try worker.takeResults().max() ?? .zero)
        }
        try writer.writePending()
        if let job = writer.makeSyncJob() { worker.submit(job) }
        let results = try worker.finish()
        durable = max(durable, results.max() ?? .zero)
        #expect(durable == LSN(500))
        writer.close()
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(500))
        #expect(state.keyspace.entries == expectedKeyspace(records: 1...500).entries)
    }

    @Test func reopen_continuesAfterRecoveredLSN_inANewSegment() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...5, in: directory)
        try writeRecords(6...9, in: directory)
        let segments = try WALSegments.list(dataDirectory: directory.path)
        #expect(segments.map(\.firstLSN) == [LSN(1), LSN(6)])
        #expect(try recover(directory).keyspace.entries == expectedKeyspace(records: 1...9).entries)
    }

    @Test func reopen_reusesAnEmptySegmentOfTheNextName() throws {
        let directory = try TemporaryDirectory()
        try writeRecords(1...5, in: directory)
        try writeFile(directory.walDirectory + "/" + WALFormat.segmentName(firstLSN: LSN(6)), WALFormat.segmentHeader(firstLSN: LSN(6)))
        try writeRecords(6...8, in: directory)
        #expect(try WALSegments.list(dataDirectory: directory.path).map(\.firstLSN) == [LSN(1), LSN(6)])
        #expect(try recover(directory).lastLSN == LSN(8))
    }

    @Test func afterClose_appendsAreRefused() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        writer.close()
        let error = storageError { _ = try writer.append(epoch: .initial, effects: [.flushAll]) }
        #expect(error?.code == .writerFailed)
    }

    @Test func writeFailure_refusesFurtherWork_andLeavesTheLogConsistent() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        _ = try writer.append(epoch: .initial, effects: testRecord(1))
        try writer.writePending()
        // Make the next write fail as a full disk would: swap the segment descriptor for
        // one opened read-only, so write(2) fails with EBADF.
        let segment = try #require(try WALSegments.list(dataDirectory: directory.path).first)
        let readOnly = try FileIO.open(segment.path, flags: O_RDONLY)
        let active = try #require(writer.makeSyncJob()?.files.last)
        #expect(dup2(readOnly, active.descriptor) >= 0)
        close(readOnly)
        _ = try writer.append(epoch: .initial, effects: testRecord(2))
        let error = storageError { try writer.writePending() }
        #expect(error?.code == .io)
        #expect(error?.description.contains(segment.path) == true)
        #expect(storageError { _ = try writer.append(epoch: .initial, effects: testRecord(3)) }?.code == .writerFailed)
        #expect(writer.lastWrittenLSN == LSN(1))
        writer.close()
        let state = try recover(directory)
        #expect(state.lastLSN == LSN(1))
    }

    @Test func bytesCounters_trackWrites_andSnapshotReset() throws {
        let directory = try TemporaryDirectory()
        let writer = try WALWriter.open(dataDirectory: directory.path, after: try recover(directory))
        _ = try writer.append(epoch: .initial, effects: testRecord(1))
        let pending = Int64(writer.pendingBytes)
        try writer.writePending()
        #expect(writer.totalBytesWritten == pending + Int64(WALFormat.segmentHeaderBytes))
        #expect(writer.bytesSinceSnapshot == pending)
        writer.resetBytesSinceSnapshot()
        #expect(writer.bytesSinceSnapshot == 0)
    }
}

/// A dedicated thread that runs sync jobs in order, as the server's sync thread does.
private final class SyncWorker: Sendable {
    private struct State {
        var jobs: [WALSyncJob] = []
        var results: [LSN] = []
        var failure: String?
        var finished = false
    }

    private let state = Mutex(State())
    private let thread = Mutex<pthread_t?>(nil)

    init() {
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<SyncWorker>.fromOpaque(raw!).takeRetainedValue().loop()
            return nil
        }, Unmanaged.passRetained(self).toOpaque())
        precondition(result == 0)
        self.thread.withLock { $0 = thread }
    }

    func submit(_ job: WALSyncJob) {
        state.withLock { $0.jobs.append(job) }
    }

    func takeResults() throws -> [LSN] {
        try state.withLock { state in
            if let failure = state.failure { throw StorageError(.io, failure) }
            defer { state.results.removeAll() }
            return state.results
        }
    }

    /// Waits for the queue to drain and the thread to exit; returns remaining results.
    func finish() throws -> [LSN] {
        state.withLock { $0.finished = true }
        if let thread = thread.withLock({ $0 }) { pthread_join(thread, nil) }
        return try takeResults()
    }

    private func loop() {
        while true {
            let next: WALSyncJob?? = state.withLock { state in
                if !state.jobs.isEmpty { return state.jobs.removeFirst() }
                return state.finished ? .some(nil) : nil
            }
            switch next {
            case .some(.some(let job)):
                do {
                    let lsn = try job.run()
                    state.withLock { $0.results.append(lsn) }
                } catch {
                    state.withLock { $0.failure = "\(error)" }
                }
            case .some(.none):
                return
            case .none:
                sched_yield()
            }
        }
    }
}
