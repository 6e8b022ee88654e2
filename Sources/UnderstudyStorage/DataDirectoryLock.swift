import Glibc

/// An exclusive lock on a data directory, held for the life of the process.
///
/// Two nodes writing one WAL would corrupt it; like PostgreSQL's `postmaster.pid`, the
/// second one refuses to start. The lock is an `flock` on `<data-dir>/LOCK`, so the kernel
/// releases it when the process dies, even by `kill -9`.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Creates the data directory if needed and locks it.
    /// - Throws: `StorageError` `.invalidState` when another process holds the lock.
    public static func acquire(dataDirectory: String) throws -> DataDirectoryLock {
        try FileIO.makeDirectories(dataDirectory)
        let path = dataDirectory + "/LOCK"
        let descriptor = try FileIO.open(path, flags: O_RDWR | O_CREAT)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                throw StorageError(
                    .invalidState, "data directory is in use by another understudy process", path: path)
            }
            throw FileIO.error("flock", path: path, errno: code)
        }
        return DataDirectoryLock(path: path, descriptor: descriptor)
    }

    deinit {
        close(descriptor)
    }
}
