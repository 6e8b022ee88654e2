import Glibc
public import Logging
public import UnderstudyWire

/// Reads `--cluster-secret-file` for `understudy server` and `understudy witness`.
public enum ClusterSecretFile {
    /// A secret file is a line, not a document: anything bigger is the wrong file.
    static let maximumFileBytes = 64 * 1024

    /// The secret in `path` (its first non-empty line). Warns when group or others may read
    /// the file: anyone who reads it can join the cluster.
    /// - Throws: `ClusterSecretLoadError` naming the path: unreadable, too big, or a secret
    ///   `ClusterSecret` refuses (empty, shorter than 16 bytes).
    public static func load(path: String, logger: Logger) throws -> ClusterSecret {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, "cannot open it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw failure(path, "cannot stat it: \(String(cString: strerror(errno)))") }
        guard status.st_size <= maximumFileBytes else {
            throw failure(path, "it is \(status.st_size) bytes; a secret file holds one line (at most \(maximumFileBytes) bytes)")
        }
        if status.st_mode & 0o077 != 0 {
            logger.warning("the cluster secret file can be read by group or others; chmod 600 it", metadata: [
                "path": "\(path)", "mode": "\(String(status.st_mode & 0o777, radix: 8))",
            ])
        }
        var contents = [UInt8](repeating: 0, count: maximumFileBytes + 1)
        var count = 0
        while count < contents.count {
            let result = contents.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if result == 0 { break }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot read it: \(String(cString: strerror(errno)))")
            }
            count += result
        }
        do {
            return try ClusterSecret(fileContents: Array(contents[..<count]))
        } catch {
            throw failure(path, error.message)
        }
    }

    private static func failure(_ path: String, _ reason: String) -> ClusterSecretLoadError {
        ClusterSecretLoadError(message: "--cluster-secret-file \(path): \(reason)")
    }
}

/// Why `--cluster-secret-file` could not be used; the process does not start.
public struct ClusterSecretLoadError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
