import Glibc

/// Scheduling priority of background threads (the snapshot writer).
///
/// Why: on a machine with few cores a snapshot's encoding and LZ4 compression compete with
/// the event loop for CPU, and client latency pays (p99 of `SET` during snapshots more than
/// doubled in `benchmarks/snapshot_latency.py`). On Linux nice is per thread, so the
/// snapshot thread can yield to the event loop while the machine is busy and still run at
/// full speed while it is idle. A snapshot only has to finish eventually (it lets old WAL
/// segments go); a client's write is waited for.
enum BackgroundPriority {
    /// The nice value of the snapshot thread (0 is the default, 19 the lowest). 19, not 10:
    /// with back-to-back snapshots of 1 M keys on 2 cores, `SET` p99 was 5.8 ms at nice 10
    /// and 3.7 ms at nice 19 (`benchmarks/snapshot_latency.py`), and a snapshot still gets
    /// its share of a busy CPU (weight 15 against the loop's 1024), so it finishes.
    static let snapshotNice: Int32 = 19

    /// Lowers the calling thread's priority to `nice`. Returns the errno on failure (the
    /// work still runs, at the normal priority; the caller logs it).
    ///
    /// `who` 0 with `PRIO_PROCESS` is the calling *thread* on Linux (NPTL keeps nice per
    /// thread; see setpriority(2), BUGS): the event loop and the sync thread keep theirs.
    static func lowerCurrentThread(to nice: Int32 = snapshotNice) -> Int32? {
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, 0)
        if errno == 0, current >= nice { return nil }
        return setpriority(which, 0, nice) == 0 ? nil : errno
    }
}
