/// What `IDEMPOTENT <key> <command> …` remembers: per key, the command it ran (a
/// fingerprint) and the reply it got, so that a retry returns that reply without running
/// the command again (DESIGN.md invariant 6).
///
/// Entries come only from logged `.remember` effects (`Keyspace.apply`), so every node that
/// replays the log — a standby, a restarted node, a node that loaded a snapshot — holds the
/// same table. Age is judged by log time, never by a node's clock: an entry goes once the
/// newest remembered time in the log is `retentionMilliseconds` past it. Past
/// `maxEntries`, the oldest entries go first (the order they were remembered in).
public struct IdempotencyTable: Sendable {
    /// Redis clients retry for seconds, applications for minutes: a day covers both.
    public static let defaultRetentionMilliseconds: Int64 = 24 * 60 * 60 * 1_000
    /// About 100 bytes each plus the reply: tens of megabytes at most.
    public static let defaultMaxEntries = 100_000

    public struct Entry: Equatable, Sendable {
        /// `IdempotencyTable.fingerprint(of:)` of the command that ran.
        public var fingerprint: UInt64
        public var reply: Reply
        /// Log time (the primary's Unix milliseconds when the command ran).
        public var atMilliseconds: Int64
        /// Insertion order, for eviction.
        var sequence: UInt64
    }

    public let retentionMilliseconds: Int64
    public let maxEntries: Int
    public private(set) var entries: [[UInt8]: Entry] = [:]
    /// Keys in the order they were remembered (stale positions skipped by sequence).
    private var order: [(key: [UInt8], sequence: UInt64)] = []
    private var orderStart = 0
    private var nextSequence: UInt64 = 0
    /// The newest log time remembered: the clock entries age by.
    public private(set) var newestAtMilliseconds: Int64 = .min

    public init(retentionMilliseconds: Int64 = Self.defaultRetentionMilliseconds, maxEntries: Int = Self.defaultMaxEntries) {
        precondition(retentionMilliseconds > 0 && maxEntries > 0, "an idempotency table keeps something")
        self.retentionMilliseconds = retentionMilliseconds
        self.maxEntries = maxEntries
    }

    public var count: Int { entries.count }

    /// The live entry for `key`, if any.
    public func entry(for key: [UInt8]) -> Entry? { entries[key] }

    /// Remembers `key` (from a logged `.remember`), then lets go of entries too old or too many.
    public mutating func remember(_ key: [UInt8], fingerprint: UInt64, reply: Reply, atMilliseconds: Int64) {
        let sequence = nextSequence
        nextSequence += 1
        entries[key] = Entry(fingerprint: fingerprint, reply: reply, atMilliseconds: atMilliseconds, sequence: sequence)
        order.append((key, sequence))
        newestAtMilliseconds = max(newestAtMilliseconds, atMilliseconds)
        evict()
    }

    /// Every live entry in the order remembered (what a snapshot keeps).
    public var entriesInOrder: [(key: [UInt8], entry: Entry)] {
        order[orderStart...].compactMap { position in
            guard let entry = entries[position.key], entry.sequence == position.sequence else { return nil }
            return (position.key, entry)
        }
    }

    private mutating func evict() {
        let oldestKept = newestAtMilliseconds &- retentionMilliseconds
        while orderStart < order.count {
            let position = order[orderStart]
            guard let entry = entries[position.key], entry.sequence == position.sequence else {
                orderStart += 1  // replaced since: this position is stale
                continue
            }
            guard entries.count > maxEntries || entry.atMilliseconds < oldestKept else { break }
            entries[position.key] = nil
            orderStart += 1
        }
        if orderStart > 1_024, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    /// A 64-bit FNV-1a digest of a command's arguments (its name folded to lower case): the
    /// same command with the same arguments, and — but for a 2^-64 chance — nothing else.
    public static func fingerprint(of arguments: ArraySlice<[UInt8]>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        for (index, argument) in arguments.enumerated() {
            var length = UInt64(argument.count)
            for _ in 0..<8 {
                mix(UInt8(truncatingIfNeeded: length))
                length >>= 8
            }
            let folds = index == 0
            for byte in argument { mix(folds && byte >= 65 && byte <= 90 ? byte + 32 : byte) }
        }
        return hash
    }
}
