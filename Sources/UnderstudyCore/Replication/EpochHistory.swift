/// Where each epoch's records begin in the log: an ordered list of `(epoch, firstLSN)`,
/// like PostgreSQL's timeline history.
///
/// Record `lsn` was written in the epoch of the last entry whose `firstLSN <= lsn`. Two
/// nodes whose histories give the same epoch for every LSN up to `n` hold the same records
/// up to `n` (one writer per epoch), which is what lets a rejoining node find the point
/// where its log and the primary's part ways (`forkPoint(with:)`).
///
/// Invariants, checked by every initializer and by `begin`: at least one entry, the first
/// starting at LSN 1, epochs strictly increasing and at least 1, first LSNs non-decreasing
/// (an epoch that wrote nothing has the same first LSN as its successor), and at most
/// `maximumEntries` entries.
public struct EpochHistory: Hashable, Sendable {
    /// One epoch and the LSN of its first record.
    public struct Entry: Hashable, Sendable {
        public var epoch: Epoch
        public var firstLSN: LSN

        public init(epoch: Epoch, firstLSN: LSN) {
            self.epoch = epoch
            self.firstLSN = firstLSN
        }
    }

    /// The most entries a history may hold: a bound for the text and binary parsers, which
    /// read peer input and files. A cluster needs over a thousand failovers to reach it.
    public static let maximumEntries = 1024

    /// The entries, oldest first. Never empty.
    public private(set) var entries: [Entry]

    /// The history of a new node: epoch 1 from LSN 1.
    public init() {
        entries = [Entry(epoch: .initial, firstLSN: LSN(1))]
    }

    /// A history with the given entries, validated.
    /// - Throws: `ReplicationError.malformedHistory` naming the first broken rule.
    public init(entries: [Entry]) throws {
        if let problem = Self.problem(in: entries) {
            throw ReplicationError(.malformedHistory, problem)
        }
        self.entries = entries
    }

    /// A history from entries the caller has already checked with `problem(in:)`.
    init(checkedEntries entries: [Entry]) {
        assert(Self.problem(in: entries) == nil, "Internal inconsistency: unchecked epoch history")
        self.entries = entries
    }

    /// The newest epoch in the history: the epoch new records are written in.
    public var currentEpoch: Epoch { lastEntry.epoch }

    /// The newest entry.
    public var lastEntry: Entry {
        guard let last = entries.last else { fatalError("Internal inconsistency: empty epoch history") }
        return last
    }

    /// The epoch record `lsn` was (or will be) written in; nil for `LSN.zero` (no record).
    public func epoch(at lsn: LSN) -> Epoch? {
        guard let index = indexOfEntry(covering: lsn) else { return nil }
        return entries[index].epoch
    }

    /// Records that `epoch` begins with record `firstLSN`.
    ///
    /// The shell MUST persist the new history (fsync) before it writes or acknowledges a
    /// record of `epoch`.
    public mutating func begin(epoch: Epoch, at firstLSN: LSN) {
        precondition(epoch > currentEpoch, "Epochs only grow: \(epoch) after \(currentEpoch)")
        precondition(firstLSN >= lastEntry.firstLSN, "Epoch \(epoch) cannot begin at LSN \(firstLSN), before epoch \(currentEpoch) began (\(lastEntry.firstLSN))")
        precondition(entries.count < Self.maximumEntries, "Epoch history is full (\(Self.maximumEntries) entries)")
        entries.append(Entry(epoch: epoch, firstLSN: firstLSN))
    }

    /// The last LSN on which both histories agree: the first LSN whose epoch differs,
    /// minus one. If they never differ, `LSN(UInt64.max)`: callers compare it with the
    /// last LSN they actually hold.
    public func forkPoint(with other: EpochHistory) -> LSN {
        // Epochs only change at entry boundaries, so only those LSNs need comparing.
        var boundaries = entries.map(\.firstLSN) + other.entries.map(\.firstLSN)
        boundaries.sort()
        for lsn in boundaries where epoch(at: lsn) != other.epoch(at: lsn) {
            return LSN(lsn.rawValue - 1)
        }
        return LSN(UInt64.max)
    }

    /// The history as it was when record `lsn` was the newest: entries beginning after
    /// `lsn` are dropped (always keeping the first).
    public func truncated(after lsn: LSN) -> EpochHistory {
        var copy = self
        while copy.entries.count > 1, copy.lastEntry.firstLSN > lsn {
            copy.entries.removeLast()
        }
        return copy
    }

    /// The index of the last entry with `firstLSN <= lsn` (binary search).
    private func indexOfEntry(covering lsn: LSN) -> Int? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].firstLSN <= lsn { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Why `entries` is not a valid history, or nil if it is.
    static func problem(in entries: [Entry]) -> String? {
        guard let first = entries.first else { return "an epoch history needs at least one entry" }
        guard entries.count <= maximumEntries else {
            return "an epoch history has at most \(maximumEntries) entries, not \(entries.count)"
        }
        guard first.firstLSN == LSN(1) else { return "the first epoch must begin at LSN 1, not \(first.firstLSN)" }
        guard first.epoch.rawValue >= 1 else { return "epoch 0 does not exist" }
        for (previous, entry) in zip(entries, entries.dropFirst()) {
            guard entry.epoch > previous.epoch else {
                return "epochs must strictly grow: \(entry.epoch) follows \(previous.epoch)"
            }
            guard entry.firstLSN >= previous.firstLSN else {
                return "epoch \(entry.epoch) begins at LSN \(entry.firstLSN), before epoch \(previous.epoch) (\(previous.firstLSN))"
            }
        }
        return nil
    }
}
