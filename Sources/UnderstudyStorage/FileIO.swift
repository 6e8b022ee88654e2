import Glibc

/// Thin, throwing wrappers over the system calls storage uses. Every error names the
/// operation, the path and the `errno` text.
enum FileIO {
    static func error(_ operation: String, path: String, errno code: Int32) -> StorageError {
        StorageError(.io, "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))", path: path, errno: code)
    }

    /// Opens `path`, retrying on EINTR. Adds O_CLOEXEC.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw error("open", path: path, errno: errno)
        }
    }

    static func openDirectory(_ path: String) throws -> Int32 {
        try open(path, flags: O_RDONLY | O_DIRECTORY)
    }

    /// Writes all of `buffer` at the file offset (`write`), or at `offset` (`pwrite`) when
    /// given. Short writes continue; on failure returns how many bytes did reach the file
    /// and the errno, so the caller can undo them.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64? = nil) -> (written: Int, errno: Int32?) {
        var written = 0
        while written < buffer.count {
            let start = buffer.baseAddress! + written
            let result = if let offset {
                pwrite(fd, start, buffer.count - written, off_t(offset) + off_t(written))
            } else {
                Glibc.write(fd, start, buffer.count - written)
            }
            if result > 0 {
                written += result
            } else if result < 0 && errno == EINTR {
                continue
            } else {
                return (written, result == 0 ? EIO : errno)
            }
        }
        return (written, nil)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64? = nil, path: String) throws {
        let result = bytes.withUnsafeBytes { writeAll(fd, $0, at: offset) }
        if let code = result.errno { throw error("write", path: path, errno: code) }
    }

    /// Reads exactly `buffer.count` bytes at `offset`; returns false at end of file.
    static func readExactly(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws -> Bool {
        var done = 0
        while done < buffer.count {
            let result = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result > 0 {
                done += result
            } else if result == 0 {
                return false
            } else if errno != EINTR {
                throw error("read", path: path, errno: errno)
            }
        }
        return true
    }

    static func size(_ fd: Int32, path: String) throws -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    /// The whole content of a regular file.
    static func readWholeFile(_ fd: Int32, path: String) throws -> [UInt8] {
        let byteCount = try size(fd, path: path)
        guard byteCount > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(byteCount))
        let complete = try bytes.withUnsafeMutableBytes { try readExactly(fd, into: $0, at: 0, path: path) }
        guard complete else {
            throw StorageError(.io, "file shrank while being read", path: path)
        }
        return bytes
    }

    static func dataSync(_ fd: Int32, path: String) throws {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw error("fdatasync", path: path, errno: errno) }
        }
    }

    static func fullSync(_ fd: Int32, path: String) throws {
        while fsync(fd) != 0 {
            if errno != EINTR { throw error("fsync", path: path, errno: errno) }
        }
    }

    /// Makes the directory's entries (created, renamed, removed files) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try openDirectory(path)
        defer { close(fd) }
        try fullSync(fd, path: path)
    }

    /// Creates or replaces `path` so that a crash leaves the old file or the new one, never
    /// a mixture: `write` fills `path + temporarySuffix`, which is fsynced, renamed over
    /// `path`, and the directory `directory` fsynced. On an error the temporary file is
    /// removed (best effort) and the error rethrown.
    static func replaceDurably<T>(
        _ path: String, directory: String, temporarySuffix: String = ".tmp",
        write: (_ descriptor: Int32, _ temporaryPath: String) throws -> T
    ) throws -> T {
        let temporaryPath = path + temporarySuffix
        let descriptor = try open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        let result: T
        do {
            defer { close(descriptor) }
            result = try write(descriptor, temporaryPath)
            try fullSync(descriptor, path: temporaryPath)
        } catch {
            _ = unlink(temporaryPath)  // best effort: the error being thrown is the one that matters
            throw error
        }
        try rename(temporaryPath, to: path)
        try syncDirectory(directory)
        return result
    }

    static func truncate(_ fd: Int32, to length: Int64, path: String) throws {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw error("ftruncate", path: path, errno: errno) }
        }
    }

    static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw error("rename to \(to)", path: from, errno: errno) }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw error("unlink", path: path, errno: errno) }
    }

    /// Removes `path` if it exists; returns whether it did.
    @discardableResult
    static func removeIfPresent(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw error("unlink", path: path, errno: errno)
    }

    /// Creates `path` and any missing parent folders (`mkdir -p`), syncing each parent
    /// whose entries changed.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + component
            if try makeDirectory(prefix) { try syncDirectory(parent) }
        }
    }

    /// Creates `path` if missing. Returns whether it was created (so the parent needs a sync).
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        if errno == EEXIST { return false }
        throw error("mkdir", path: path, errno: errno)
    }

    /// Names in a directory, without "." and "..".
    static func listDirectory(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw error("opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}

/// Little-endian integer access for the storage formats.
extension UnsafeRawBufferPointer {
    func readUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func readUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension Array where Element == UInt8 {
    mutating func appendUInt32(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendUInt64(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites four bytes at `offset` (used to patch a frame header in place).
    mutating func storeUInt32(_ value: UInt32, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    }
}

extension FileIO {
    /// The size of the file at `path`.
    static func size(atPath path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw error("stat", path: path, errno: errno) }
        return Int64(info.st_size)
    }
}
