/// When each recent record was written and how many bytes the log held after it: a ring
/// of fixed capacity that answers "how old is the oldest record the standby lacks", "how
/// many bytes is it behind" and "which records have waited longer than the timeout".
///
/// Memory is bounded: when full, the oldest entry is dropped and remembered as the
/// horizon. For a record at or before the horizon, the horizon's time is an upper bound
/// of its write time (so timeouts fire late, never early) and the horizon's byte count an
/// upper bound of its cumulative bytes (so lag is a lower bound).
struct WrittenRecordRing: Sendable {
    struct Entry: Hashable, Sendable {
        var lsn: LSN
        var timeMilliseconds: Int64
        /// Bytes of every record written since the ring began, this one included.
        var cumulativeBytes: Int64
    }

    let capacity: Int
    private var storage: [Entry] = []
    private var head = 0
    /// The newest entry dropped (or the starting point): records up to its LSN have left
    /// the ring. Its time is nil when no record has been written since the start.
    private(set) var horizon: (lsn: LSN, timeMilliseconds: Int64?, cumulativeBytes: Int64)

    /// A ring whose log already holds the records up to `lastLSN` (their times unknown).
    init(capacity: Int, lastLSN: LSN) {
        precondition(capacity >= 1, "A written-record ring needs room for one entry")
        self.capacity = capacity
        horizon = (lastLSN, nil, 0)
        storage.reserveCapacity(capacity)
    }

    var count: Int { storage.count }

    /// The LSN of the newest record written.
    var lastLSN: LSN { storage.isEmpty ? horizon.lsn : self[storage.count - 1].lsn }

    /// Bytes written since the ring began.
    var totalBytes: Int64 { storage.isEmpty ? horizon.cumulativeBytes : self[storage.count - 1].cumulativeBytes }

    /// Records that record `lsn` (the next one) was written at `timeMilliseconds`.
    /// A clock that steps back is treated as standing still.
    mutating func append(lsn: LSN, bytes: Int, timeMilliseconds: Int64) {
        precondition(lsn == lastLSN.next, "LSNs are contiguous: \(lsn) written after \(lastLSN)")
        precondition(bytes >= 0, "A record has a non-negative size")
        let lastTime = storage.isEmpty ? horizon.timeMilliseconds : self[storage.count - 1].timeMilliseconds
        let entry = Entry(lsn: lsn, timeMilliseconds: max(timeMilliseconds, lastTime ?? timeMilliseconds),
                          cumulativeBytes: totalBytes + Int64(bytes))
        if storage.count < capacity {
            storage.append(entry)
        } else {
            let oldest = storage[head]
            horizon = (oldest.lsn, oldest.timeMilliseconds, oldest.cumulativeBytes)
            storage[head] = entry
            head = (head + 1) % capacity
        }
    }

    /// When record `lsn` was written, or an upper bound of it for records older than the
    /// ring; nil if it is not written yet or its time was never known.
    func writeTime(of lsn: LSN) -> Int64? {
        if lsn <= horizon.lsn { return horizon.timeMilliseconds }
        guard let index = index(of: lsn) else { return nil }
        return self[index].timeMilliseconds
    }

    /// Bytes written through record `lsn` (an upper bound for records older than the ring).
    func cumulativeBytes(through lsn: LSN) -> Int64 {
        if lsn <= horizon.lsn { return horizon.cumulativeBytes }
        guard let index = index(of: lsn) else { return totalBytes }
        return self[index].cumulativeBytes
    }

    /// The newest LSN written at or before `timeMilliseconds` (by the bounds above); nil if
    /// none is known to be.
    func lastLSN(writtenAtOrBefore timeMilliseconds: Int64) -> LSN? {
        var low = 0
        var high = storage.count
        while low < high {
            let middle = (low + high) / 2
            if self[middle].timeMilliseconds <= timeMilliseconds { low = middle + 1 } else { high = middle }
        }
        if low > 0 { return self[low - 1].lsn }
        if let time = horizon.timeMilliseconds, time <= timeMilliseconds { return horizon.lsn }
        return nil
    }

    /// The entry at logical position `position` (0 = oldest).
    private subscript(position: Int) -> Entry {
        storage[(head + position) % capacity]
    }

    /// The logical position of record `lsn`, if the ring holds it.
    private func index(of lsn: LSN) -> Int? {
        guard !storage.isEmpty, lsn > horizon.lsn, lsn <= lastLSN else { return nil }
        // Entries are contiguous in LSN, so the position is arithmetic.
        return Int(lsn.rawValue - self[0].lsn.rawValue)
    }
}
