import CUnderstudyProcess
import Glibc

/// One child process to start.
struct ChildSpecification: Sendable {
    /// How messages name it ("node a", "witness").
    var name: String
    /// The executable's arguments, `argv[0]` included.
    var arguments: [String]
    /// An open descriptor (close-on-exec) for its stdout and stderr; the reaper closes it
    /// once the child has it.
    var outputDescriptor: Int32
}

/// What happened to a child, reported from the reaper's thread.
enum ChildEvent: Sendable {
    case started(name: String, processID: Int32)
    case failedToStart(name: String, reason: String)
    case exited(name: String, status: String)
}

/// Starts children and waits for them on one dedicated thread.
///
/// Why a thread of its own: each child asks the kernel for SIGTERM when its parent dies
/// (`PR_SET_PDEATHSIG`), so that no child outlives `understudy local` even after a SIGKILL.
/// Linux counts the *thread* that forked as the parent, and the concurrency runtime's
/// threads come and go. This thread lives until every child it started has exited, so the
/// signal comes only when the process dies. It also reaps the children (`waitpid`), which
/// blocks, so it belongs off the cooperative pool anyway.
enum ChildProcessReaper {
    /// Starts `children` in order on a new thread and reports each start, failure and exit
    /// to `events`. `executablePath` is exec'd with each child's arguments.
    /// - Throws: `LocalClusterError` when the thread cannot be created (nothing started then).
    static func start(
        executablePath: String, children: [ChildSpecification], standardInput: Int32,
        events: @escaping @Sendable (ChildEvent) -> Void
    ) throws {
        let body = ThreadBody {
            var names: [Int32: String] = [:]
            for child in children {
                let result = spawn(executablePath: executablePath, child: child, standardInput: standardInput)
                close(child.outputDescriptor)
                switch result {
                case .success(let processID):
                    names[processID] = child.name
                    events(.started(name: child.name, processID: processID))
                case .failure(let error):
                    events(.failedToStart(name: child.name, reason: error.message))
                }
            }
            close(standardInput)
            reap(names, events: events)
        }
        let context = Unmanaged.passRetained(body).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            guard let context else { fatalError("Internal inconsistency: a reaper thread without its body") }
            Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw LocalClusterError("cannot create the thread that starts the children: \(errorText(result))")
        }
        pthread_detach(thread)
    }

    private static func spawn(executablePath: String, child: ChildSpecification, standardInput: Int32)
        -> Result<Int32, LocalClusterError>
    {
        let arguments = child.arguments.map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        let processID = (arguments + [nil]).withUnsafeBufferPointer { argv in
            understudy_spawn_with_parent_death_signal(
                executablePath, argv.baseAddress, standardInput, child.outputDescriptor, SIGTERM)
        }
        guard processID > 0 else { return .failure(LocalClusterError("fork failed: \(errorText(-processID))")) }
        return .success(processID)
    }

    /// Waits for every child in `names`, reporting each exit; returns when none is left.
    private static func reap(_ names: [Int32: String], events: @Sendable (ChildEvent) -> Void) {
        var names = names
        while !names.isEmpty {
            var status: Int32 = 0
            let processID = waitpid(-1, &status, 0)
            if processID < 0 {
                if errno == EINTR { continue }
                // ECHILD: nothing left to wait for (should not happen while names is not empty).
                for name in names.values { events(.exited(name: name, status: "lost track of it: waitpid: \(errorText(errno))")) }
                return
            }
            guard let name = names.removeValue(forKey: processID) else { continue }
            events(.exited(name: name, status: describe(waitStatus: status)))
        }
    }

    /// "exit code 1", "killed by signal 9 (SIGKILL)".
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit code \((status >> 8) & 0xff)" }
        let names: [Int32: String] = [SIGTERM: "SIGTERM", SIGKILL: "SIGKILL", SIGINT: "SIGINT", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGBUS: "SIGBUS"]
        return "killed by signal \(signal)" + (names[signal].map { " (\($0))" } ?? "")
    }

    static func errorText(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}

/// The closure a reaper thread runs, boxed to cross `pthread_create`.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) {
        self.run = run
    }
}
