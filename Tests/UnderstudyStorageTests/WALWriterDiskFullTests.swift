import Glibc
import Testing
import UnderstudyCore
@testable import UnderstudyStorage

/// Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN), tried once.
private let mayMountTmpfs: Bool = {
    guard getuid() == 0 else { return false }
    do {
        let directory = try TemporaryDirectory()
        guard mount("tmpfs", directory.path, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount2(directory.path, Int32(MNT_DETACH))
        return true
    } catch {
        return false  // no temporary directory: the suite could not run either
    }
}()

/// The writer on a real full file system: a tiny tmpfs mounted for the test (skipped where
/// mounting is not permitted; the process-level tests/test_disk_faults.py does the same
/// with a 24 MiB one).
@Suite(.enabled(if: mayMountTmpfs, "mounting a tmpfs needs root with CAP_SYS_ADMIN"))
struct WALWriterDiskFullTests {
    /// A 256 KiB tmpfs on a fresh directory, unmounted when released.
    private final class SmallDisk {
        let directory: TemporaryDirectory
        var path: String { directory.path + "/disk" }

        init() throws {
            directory = try TemporaryDirectory()
            _ = try FileIO.makeDirectory(directory.path + "/disk")
            guard mount("tmpfs", directory.path + "/disk", "tmpfs", 0, "size=256k") == 0 else {
                throw StorageError(.io, "mount tmpfs failed", path: directory.path + "/disk", errno: errno)
            }
        }

        deinit { umount2(path, Int32(MNT_DETACH)) }
    }

    /// Records of `valueBytes` each, written one by one until the disk refuses one.
    private func fill(_ writer: WALWriter, valueBytes: Int) -> (lastWritten: LSN, error: (any Error)?) {
        for index in 1...10_000 {
            let effects: [Effect] = [.set(key: Array("key-\(index)".utf8), value: [UInt8](repeating: UInt8(index & 0xFF), count: valueBytes),
                                          expireAtMilliseconds: nil)]
            do {
                _ = try writer.append(epoch: .initial, effects: effects)
                try writer.writePending()
            } catch {
                return (writer.lastWrittenLSN, error)
            }
        }
        return (writer.lastWrittenLSN, nil)
    }

    @Test func enospcMidRecord_leavesARecoverableLog_endingAtTheLastWholeRecord() throws {
        let disk = try SmallDisk()
        let recovered = try Recovery.recover(dataDirectory: disk.path, logger: LogCapture().logger)
        let writer = try WALWriter.open(dataDirectory: disk.path, after: recovered)
        let (lastWritten, error) = fill(writer, valueBytes: 3_000)  // not a multiple of a page: a write ends mid-record
        let failure = try #require(error)
        #expect(WALWriter.isOutOfSpace(failure), "\(failure)")
        #expect(lastWritten > .zero)
        writer.close()
        let state = try Recovery.recover(dataDirectory: disk.path, logger: LogCapture().logger)
        #expect(state.lastLSN == lastWritten, "every whole record written, nothing after")
        #expect(state.keyspace.count == Int(lastWritten.rawValue))
    }

    @Test func openNextSegment_failsWhileTheDiskIsFull_andWorksOnceSpaceReturns() throws {
        let disk = try SmallDisk()
        let ballast = disk.path + "/ballast"
        let descriptor = try FileIO.open(ballast, flags: O_WRONLY | O_CREAT)
        let page = [UInt8](repeating: 0, count: 4096)
        while page.withUnsafeBytes({ FileIO.writeAll(descriptor, $0) }).errno == nil {}
        close(descriptor)
        let recovered = try Recovery.recover(dataDirectory: disk.path, logger: LogCapture().logger)
        let writer = try WALWriter.open(dataDirectory: disk.path, after: recovered)
        let error = storageError { try writer.openNextSegment() }
        #expect(error.map { WALWriter.isOutOfSpace($0) } == true)
        #expect(unlink(ballast) == 0)
        try writer.openNextSegment()
        _ = try writer.append(epoch: .initial, effects: testRecord(1))
        #expect(try writer.writePending() == LSN(1), "the probe leaves the writer usable")
        writer.close()
        #expect(try Recovery.recover(dataDirectory: disk.path, logger: LogCapture().logger).lastLSN == LSN(1))
    }
}
