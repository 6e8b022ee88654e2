import Glibc
import UnderstudyCore
import UnderstudyServer

/// `understudy local` could not do what it was asked; the message says what and why.
struct LocalClusterError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }

    init(_ message: String) {
        self.message = message
    }
}

/// The three processes of a local cluster: where they listen, keep their data and log, and
/// the command line each runs. Plain values; `LocalCommand` carries them out.
struct LocalClusterPlan {
    struct Process {
        /// "a", "b" or "witness": the data and log file names.
        var name: String
        var address: ListenAddress
        /// Its admin HTTP port (`--admin`): health, role, metrics.
        var adminAddress: ListenAddress
        /// The `understudy` arguments after the program name.
        var arguments: [String]
        var dataDirectory: String
        var logPath: String
    }

    static let host = "127.0.0.1"
    /// Ports above `--base-port`: the nodes at +1 and +2, the witness at +10; each one's
    /// admin HTTP port 10 above its own (+11, +12, +20).
    static let nodeAPortOffset = 1
    static let nodeBPortOffset = 2
    static let witnessPortOffset = 10
    static let adminPortOffset = 10

    var directory: String
    var mode: ReplicationMode
    /// `--password-file`, given to both nodes (nil: none).
    var passwordFile: String?
    var nodeA: Process
    var nodeB: Process
    var witness: Process

    /// - Parameter passwordFile: given to both nodes as `--password-file` (an absolute path:
    ///   the children may resolve relative paths differently); nil: no password.
    init(directory: String, mode: ReplicationMode, basePort: Int, passwordFile: String? = nil) {
        self.directory = directory
        self.mode = mode
        self.passwordFile = passwordFile
        let a = ListenAddress(host: Self.host, port: basePort + Self.nodeAPortOffset)
        let b = ListenAddress(host: Self.host, port: basePort + Self.nodeBPortOffset)
        let witnessAddress = ListenAddress(host: Self.host, port: basePort + Self.witnessPortOffset)
        func path(_ name: String) -> String { directory.hasSuffix("/") ? directory + name : directory + "/" + name }
        func admin(_ address: ListenAddress) -> ListenAddress {
            ListenAddress(host: Self.host, port: address.port + Self.adminPortOffset)
        }
        func node(_ name: String, _ address: ListenAddress, peer: ListenAddress, role: String) -> Process {
            Process(
                name: name, address: address, adminAddress: admin(address),
                arguments: ["server", "--data-dir", path(name), "--listen", "\(address)", "--peer", "\(peer)",
                            "--witness", "\(witnessAddress)", "--replication", mode.rawValue, "--role", role,
                            "--admin", "\(admin(address))"] + (passwordFile.map { ["--password-file", $0] } ?? []),
                dataDirectory: path(name), logPath: path(name + ".log"))
        }
        nodeA = node("a", a, peer: b, role: "primary")
        nodeB = node("b", b, peer: a, role: "standby")
        witness = Process(
            name: "witness", address: witnessAddress, adminAddress: admin(witnessAddress),
            arguments: ["witness", "--data-dir", path("witness"), "--listen", "\(witnessAddress)", "--nodes", "\(a),\(b)",
                        "--admin", "\(admin(witnessAddress))"],
            dataDirectory: path("witness"), logPath: path("witness.log"))
    }

    var processes: [Process] { [witness, nodeA, nodeB] }

    /// Every port must be free before anything starts: a child that cannot bind would only
    /// say so in its log.
    /// - Throws: `LocalClusterError` naming the first port in use and what to do about it.
    func checkPortsAreFree() throws {
        for process in processes {
            for (address, what) in [(process.address, ""), (process.adminAddress, "admin port ")] {
                if let problem = Self.bindProblem(address) {
                    throw LocalClusterError(
                        "port \(address.port) (\(what)for \(process.name == "witness" ? "the witness" : "node \(process.name)")) is not free: \(problem). "
                            + "Stop whatever uses it, or choose other ports with --base-port N (the cluster uses N+1, N+2, N+10 and the admin ports N+11, N+12, N+20).")
                }
            }
        }
    }

    /// Why `address` cannot be bound (as the servers bind it, with SO_REUSEADDR), or nil.
    private static func bindProblem(_ address: ListenAddress) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return "socket: \(ChildProcessReaper.errorText(errno))" }
        defer { close(descriptor) }
        var one: Int32 = 1
        guard setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            return "setsockopt(SO_REUSEADDR): \(ChildProcessReaper.errorText(errno))"
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(address.port).bigEndian)
        guard inet_pton(AF_INET, address.host, &socketAddress.sin_addr) == 1 else { return "'\(address.host)' is not an IPv4 address" }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0 ? nil : "bind \(address): \(ChildProcessReaper.errorText(errno))"
    }

    /// Creates the cluster directory and each process's data directory (like `mkdir -p`).
    /// - Throws: `LocalClusterError` naming the directory that could not be created.
    func createDirectories() throws {
        for process in processes { try Self.makeDirectories(process.dataDirectory) }
    }

    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw LocalClusterError("cannot create directory \(prefix): \(ChildProcessReaper.errorText(errno))")
            }
            prefix += "/"
        }
        var information = stat()
        guard stat(path, &information) == 0, information.st_mode & S_IFMT == S_IFDIR else {
            throw LocalClusterError("\(path) exists and is not a directory")
        }
    }

    /// Opens `path` for appending (created if missing), close-on-exec: a child gets it only
    /// as its stdout and stderr.
    /// - Throws: `LocalClusterError` naming the file.
    static func openLog(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LocalClusterError("cannot open log file \(path): \(ChildProcessReaper.errorText(errno))") }
        return descriptor
    }

    /// The banner printed once the cluster takes writes, primary first.
    func banner(roles: [String: String], elapsedMilliseconds: Int64, ready: Bool) -> String {
        let nodes = [nodeA, nodeB].sorted { (roles[$0.name] == "primary" ? 0 : 1) < (roles[$1.name] == "primary" ? 0 : 1) }
        func column(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        var lines = [
            ready
                ? "Understudy local cluster (\(mode.rawValue) replication) is up, writable after \(elapsedMilliseconds) ms:"
                : "Understudy local cluster (\(mode.rawValue) replication) started, but no node took writes within \(elapsedMilliseconds) ms (see the logs):",
        ]
        for node in nodes {
            lines.append("  " + column(roles[node.name] ?? "unknown", 10) + column("\(node.address)", 17) + "redis-cli -p \(node.address.port)"
                + (passwordFile == nil ? "" : " --askpass"))
        }
        lines += [
            "  " + column("witness", 10) + column("\(witness.address)", 17) + "redis-cli -p \(witness.address.port) WITNESS STATUS",
            "  status:   understudy status --nodes \(nodeA.address),\(nodeB.address) --witness \(witness.address)" + (passwordFile.map { " --password-file \($0)" } ?? ""),
            "  health:   curl http://\(nodeA.adminAddress)/health  (admin ports \(nodeA.adminAddress.port), \(nodeB.adminAddress.port), \(witness.adminAddress.port): /primary, /replica, /metrics, …)",
            "  sentinel: redis-cli -p \(witness.address.port) SENTINEL get-master-addr-by-name understudy",
            "  logs:     \(directory.hasSuffix("/") ? directory : directory + "/"){a,b,witness}.log",
            "Press Ctrl-C to stop all three.",
        ]
        return lines.joined(separator: "\n")
    }
}
