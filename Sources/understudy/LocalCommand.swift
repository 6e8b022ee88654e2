import ArgumentParser
import Foundation
import Glibc
import UnderstudyCore
import UnixSignals

/// `understudy local`: a witness and two data nodes on loopback, as children of this
/// process, for trying Understudy out with one command.
///
/// The children are this same executable (`/proc/self/exe`) running `witness` and `server`.
/// They are started with fork + exec from C, each asking the kernel for SIGTERM should this
/// process die (`PR_SET_PDEATHSIG`), so none outlives it even after a SIGKILL (see
/// `ChildProcessReaper`). Each runs in its own process group: a terminal's Ctrl-C reaches
/// only this process, which stops the three in order and reports it.
struct LocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Run a local cluster for trying Understudy out: a witness and two data nodes on 127.0.0.1.",
        discussion: """
            The nodes listen on BASE+1 and BASE+2, the witness on BASE+10; data and logs go to \
            DIR/{a,b,witness} and DIR/{a,b,witness}.log. Ctrl-C stops all three. Run it again on \
            the same --dir to restart the same cluster.
            """
    )

    @Option(help: "Directory for the three processes' data and logs (created if missing).")
    var dir: String = "./understudy-local"

    @Option(help: "sync (a write is acknowledged once the standby has it on disk) or async.")
    var replication: ReplicationMode = .sync

    @Option(help: "Ports: node a on N+1, node b on N+2, the witness on N+10; their admin HTTP ports on N+11, N+12, N+20.")
    var basePort: Int = 7000

    @Option(help: "A password file (first non-blank line) given to both nodes: clients must AUTH.")
    var passwordFile: String?

    /// How long to wait for a writable primary before saying so.
    static let readinessDeadlineMilliseconds: Int64 = 10_000
    /// How long the children get to stop after SIGTERM before SIGKILL.
    static let stopGraceMilliseconds: Int64 = 5_000

    func validate() throws {
        guard basePort >= 1, basePort + LocalClusterPlan.witnessPortOffset <= 65_535 else {
            throw ValidationError("--base-port must be between 1 and \(65_535 - LocalClusterPlan.witnessPortOffset - LocalClusterPlan.adminPortOffset) (got \(basePort))")
        }
        guard !dir.isEmpty else { throw ValidationError("--dir must not be empty") }
    }

    func run() async throws {
        let absolutePasswordFile = passwordFile.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
        let plan = LocalClusterPlan(directory: dir, mode: replication, basePort: basePort, passwordFile: absolutePasswordFile)
        let password = try passwordFile.map { String(decoding: try SecretFiles.password(path: $0), as: UTF8.self) }
        try plan.checkPortsAreFree()
        try plan.createDirectories()
        let executable = try Self.executablePath()
        // Trap the signals before any child exists, so that none is left behind by an early Ctrl-C.
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let exitCode = try await supervise(plan, executable: executable, signals: signals, password: password)
        guard exitCode == 0 else { throw ExitCode(exitCode) }
    }

    /// Starts the children and carries out `LocalClusterSupervision`'s actions until they are
    /// all gone; returns the exit code.
    private func supervise(_ plan: LocalClusterPlan, executable: String, signals: UnixSignalsSequence, password: String?) async throws -> Int32 {
        let displayNames = ["a": "node a", "b": "node b", "witness": "witness"]
        var logPaths: [String: String] = [:]
        var children: [ChildSpecification] = []
        let standardInput = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard standardInput >= 0 else { throw LocalClusterError("cannot open /dev/null: \(ChildProcessReaper.errorText(errno))") }
        for process in plan.processes {
            let name = displayNames[process.name] ?? process.name
            logPaths[name] = process.logPath
            let output: Int32
            do {
                output = try LocalClusterPlan.openLog(process.logPath)
            } catch {
                children.forEach { close($0.outputDescriptor) }
                close(standardInput)
                throw error
            }
            children.append(ChildSpecification(name: name, arguments: [executable] + process.arguments, outputDescriptor: output))
        }

        let (events, continuation) = AsyncStream.makeStream(of: LocalEvent.self)
        var supervision = LocalClusterSupervision(childNames: children.map(\.name))
        try ChildProcessReaper.start(
            executablePath: "/proc/self/exe", children: children, standardInput: standardInput,
            events: { continuation.yield(.child($0)) })

        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await signal in signals { continuation.yield(.signal("\(signal)")) }
            }
            group.addTask {
                let nodes = [plan.nodeA, plan.nodeB].map { (name: $0.name, address: $0.address) }
                if let outcome = await LocalClusterReadiness.wait(for: nodes, deadlineMilliseconds: Self.readinessDeadlineMilliseconds, password: password) {
                    continuation.yield(.readiness(outcome))
                }
            }
            var exitCode: Int32?
            var readiness: LocalClusterReadiness.Outcome?
            for await event in events {
                let actions: [LocalClusterSupervision.Action]
                switch event {
                case .child(.started(let name, let processID)): actions = supervision.started(name: name, processID: processID)
                case .child(.failedToStart(let name, let reason)): actions = supervision.failedToStart(name: name, reason: reason)
                case .child(.exited(let name, let status)):
                    actions = supervision.exited(name: name, status: status, logPath: logPaths[name] ?? plan.directory)
                case .signal(let name): actions = supervision.signalReceived(name)
                case .readiness(let outcome):
                    readiness = outcome
                    actions = supervision.readinessResolved()
                case .shutdownDeadlinePassed: actions = supervision.shutdownDeadlinePassed()
                }
                for action in actions {
                    switch action {
                    case .signal(_, let processID, let signal):
                        if kill(processID, signal) != 0, errno != ESRCH {
                            Self.report("cannot signal process \(processID): \(ChildProcessReaper.errorText(errno))")
                        }
                    case .report(let message): Self.report(message)
                    case .announceReady:
                        guard let readiness else { fatalError("Internal inconsistency: announcing readiness without an outcome") }
                        Self.printFlushed(plan.banner(roles: readiness.roles, elapsedMilliseconds: readiness.elapsedMilliseconds, ready: readiness.ready))
                    case .startShutdownDeadline:
                        group.addTask {
                            do {
                                try await Task.sleep(for: .milliseconds(Self.stopGraceMilliseconds))
                            } catch {
                                return  // cancelled: everything stopped in time
                            }
                            continuation.yield(.shutdownDeadlinePassed)
                        }
                    case .finish(let code): exitCode = code
                    }
                }
                if exitCode != nil { break }
            }
            continuation.finish()
            group.cancelAll()
            if exitCode == 0 { Self.printFlushed("Stopped: node a, node b and the witness have exited.") }
            return exitCode ?? 1
        }
    }

    private enum LocalEvent: Sendable {
        case child(ChildEvent)
        case signal(String)
        case readiness(LocalClusterReadiness.Outcome)
        case shutdownDeadlinePassed
    }

    /// This executable's path, for the children's `argv[0]` (what `ps` shows); they are
    /// exec'd from `/proc/self/exe`, which stays this binary even if the file is replaced.
    private static func executablePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw LocalClusterError("cannot read /proc/self/exe: \(ChildProcessReaper.errorText(errno))") }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func report(_ message: String) {
        let line = Array("understudy local: \(message)\n".utf8)
        // write(2): stderr is unbuffered anyway, and the C `stderr` global is not concurrency-safe in Swift 6.
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    private static func printFlushed(_ text: String) {
        print(text)
        fflush(nil)  // every stream: stdout is a pipe under a supervisor, fully buffered
    }
}
