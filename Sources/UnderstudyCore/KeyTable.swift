/// The keys of a `Keyspace` and their entries: a hash table built for this one job.
///
/// Layout (as CPython's compact dict): `ordered` holds one `StoredEntry` per key in
/// insertion order (a deleted key leaves a `nil` tombstone), `sequences` gives each of those
/// positions a number that never changes while the key exists, and `slots` is an
/// open-addressing index (linear probing, at most 3/4 full, backward-shift deletion, so no
/// index tombstones) whose every slot packs a key's 32-bit hash with its position. A lookup
/// hashes the key once, walks `slots` comparing hashes without touching any entry, and
/// compares bytes only on a hash match. Per key that is one allocation (the entry) plus
/// 16 bytes in `ordered`/`sequences` and 8–16 in `slots`.
///
/// The hash is the standard library's `Hasher` (SipHash-1-3) over the key's bytes, seeded
/// at random per process by the Swift runtime: clients choose keys, so a fixed hash would
/// let them build collisions (HashDoS). Nothing observable depends on it: iteration, SCAN
/// cursors and RANDOMKEY work on insertion order.
///
/// SCAN's cursor is a sequence number. Why not Redis's reverse-binary cursor: linear probing
/// moves keys between slots when others are deleted or the index grows, so a slot number is
/// no stable position. A key present for a whole iteration keeps its sequence number and
/// its relative order (compaction preserves order), so a scan that resumes "from sequence
/// `cursor` on" returns it exactly once. Keys added later get larger numbers; a key deleted
/// and added again gets a new number and may be returned twice, as Redis allows.
/// Tombstones are compacted away once they outnumber live keys, so RANDOMKEY's pick of a
/// random position succeeds in about two tries on average.
///
/// A value type: copies (snapshots) share the arrays and the entries, and every mutation
/// goes through Swift's copy-on-write for the arrays and `isKnownUniquelyReferenced` for the
/// entry it changes, so a copy never sees a later write.
public struct KeyTable: Sendable {
    /// Chunked (`ChunkedArray`) so that the first write after a snapshot's capture copies
    /// one chunk, not every entry reference.
    private var ordered = ChunkedArray<EntrySlot>()
    /// Parallel to `ordered`, strictly increasing.
    private var sequences = ChunkedArray<UInt64>()
    /// `hash << 32 | (position + 1)`, or 0 for an empty slot. The count is a power of two.
    private var slots: [UInt64] = []
    public private(set) var count = 0
    private var nextSequence: UInt64 = 1
    /// Tests force every key onto one hash to exercise collisions.
    var collidingHashForTesting = false

    public init() {}

    public var isEmpty: Bool { count == 0 }

    // MARK: Lookup

    func hashOf(_ key: UnsafeRawBufferPointer) -> UInt32 {
        if collidingHashForTesting { return 7 }
        var hasher = Hasher()
        hasher.combine(bytes: key)
        return UInt32(truncatingIfNeeded: hasher.finalize())
    }

    /// The entry of `key`, copied out (allocates; commands use `storedEntry`).
    public subscript(key: [UInt8]) -> Entry? { storedEntry(key)?.entry }

    func storedEntry(_ key: [UInt8]) -> StoredEntry? {
        key.withUnsafeBytes { key in
            locate(key, hash: hashOf(key)).map { ordered[$0.position].entry.unsafelyUnwrapped }
        }
    }

    /// Where `key` is: its index slot and its position in `ordered`.
    @inline(__always)
    private func locate(_ key: UnsafeRawBufferPointer, hash: UInt32) -> (slot: Int, position: Int)? {
        guard !slots.isEmpty else { return nil }
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var slot = Int(hash) & mask
            while true {
                let word = slots[slot]
                if word == 0 { return nil }
                if UInt32(truncatingIfNeeded: word >> 32) == hash {
                    let position = Int(truncatingIfNeeded: word & 0xFFFF_FFFF) - 1
                    if ordered[position].entry.unsafelyUnwrapped.keyEquals(key) { return (slot, position) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    // MARK: Mutation

    /// What a `set` replaced: whether the key existed, and its expiry if it did.
    public struct Replaced: Sendable {
        public var existed: Bool
        public var expireAtMilliseconds: Int64?
    }

    /// Stores `value` (and expiry) under `key`. A key that exists keeps its position (and
    /// SCAN sequence); its entry is rewritten in place when it is not shared and fits.
    ///
    /// Public for loaders that build a table before it becomes a `Keyspace` (see
    /// `Keyspace.init(table:)`); a keyspace's own table changes only through `apply`.
    @discardableResult
    public mutating func set(key: [UInt8], value: [UInt8], expireAtMilliseconds: Int64?) -> Replaced {
        key.withUnsafeBytes { key in
            value.withUnsafeBytes { value in
                set(key: key, value: value, expireAtMilliseconds: expireAtMilliseconds)
            }
        }
    }

    @discardableResult
    public mutating func set(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expireAtMilliseconds: Int64?) -> Replaced {
        let hash = hashOf(key)
        guard let (_, position) = locate(key, hash: hash) else {
            insert(StoredEntry.make(hash: hash, key: key, value: value, expireAtMilliseconds: expireAtMilliseconds))
            return Replaced(existed: false, expireAtMilliseconds: nil)
        }
        // No local reference to the entry may be held here, or it would never look unique.
        let previous = Replaced(existed: true, expireAtMilliseconds: ordered[position].entry.unsafelyUnwrapped.expireAtMilliseconds)
        let capacity = ordered[position].entry.unsafelyUnwrapped.byteCapacity
        let needed = key.count + value.count
        // In place only if not shared and not much larger than needed (a shrunk value frees memory).
        if capacity >= needed && capacity <= 2 * needed + 32 && isKnownUniquelyReferenced(&ordered[position].entry) {
            let entry = ordered[position].entry.unsafelyUnwrapped
            entry.replaceValue(with: value)
            entry.expireAtMilliseconds = expireAtMilliseconds
        } else {
            ordered[position].entry = StoredEntry.make(hash: hash, key: key, value: value, expireAtMilliseconds: expireAtMilliseconds)
        }
        return previous
    }

    /// Adds an entry whose key is not present.
    private mutating func insert(_ entry: StoredEntry) {
        if (count + 1) * 4 > slots.count * 3 { growIndex(slotCount: Self.slotCount(for: count + 1)) }
        precondition(ordered.count < Int(UInt32.max) - 1, "Key table is full")
        let position = ordered.count
        ordered.append(EntrySlot(entry: entry))
        sequences.append(nextSequence)
        nextSequence += 1
        count += 1
        place(hash: entry.hash, position: position)
    }

    /// Removes `key`; returns its entry, or `nil` if it was not there.
    @discardableResult
    mutating func remove(_ key: [UInt8]) -> StoredEntry? {
        let found = key.withUnsafeBytes { locate($0, hash: hashOf($0)) }
        guard let (slot, position) = found else { return nil }
        let removed = ordered[position].entry
        ordered[position].entry = nil
        count -= 1
        removeSlot(slot)
        let tombstones = ordered.count - count
        if tombstones > count && tombstones > 32 { compact() }
        return removed
    }

    /// Sets the expiry of an existing key; returns what it replaced (`existed` false: no key).
    @discardableResult
    mutating func setExpiry(_ key: [UInt8], _ expireAtMilliseconds: Int64?) -> Replaced {
        guard let position = position(of: key) else { return Replaced(existed: false) }
        let previous = Replaced(existed: true, expireAtMilliseconds: ordered[position].entry.unsafelyUnwrapped.expireAtMilliseconds)
        uniqueEntry(at: position, valueCapacity: nil).expireAtMilliseconds = expireAtMilliseconds
        return previous
    }

    /// APPEND's (`offset` nil) and SETRANGE's in-place patch of an existing value: writes
    /// `bytes` at `offset` (zero-filling any gap). The entry grows by doubling, so a value
    /// built by repeated appends costs amortised O(1) per byte. False if the key is missing.
    mutating func patchValue(_ key: [UInt8], at offset: Int?, with bytes: [UInt8]) -> Bool {
        guard let position = position(of: key) else { return false }
        let currentCount = ordered[position].entry.unsafelyUnwrapped.valueCount
        let start = offset ?? currentCount
        let entry = uniqueEntry(at: position, valueCapacity: Swift.max(currentCount, start + bytes.count))
        bytes.withUnsafeBytes { entry.overwriteValue(at: start, with: $0) }
        return true
    }

    private func position(of key: [UInt8]) -> Int? {
        key.withUnsafeBytes { locate($0, hash: hashOf($0))?.position }
    }

    /// The entry at `position`, owned by this table alone (copied if shared) and with room
    /// for a value of `valueCapacity` bytes (grown by doubling), ready to be mutated in place.
    private mutating func uniqueEntry(at position: Int, valueCapacity: Int?) -> StoredEntry {
        // No local reference to the entry may be held before the uniqueness check.
        let capacity = ordered[position].entry.unsafelyUnwrapped.byteCapacity
        let keyCount = ordered[position].entry.unsafelyUnwrapped.keyCount
        let neededBytes = keyCount + (valueCapacity ?? ordered[position].entry.unsafelyUnwrapped.valueCount)
        if capacity >= neededBytes && isKnownUniquelyReferenced(&ordered[position].entry) {
            return ordered[position].entry.unsafelyUnwrapped
        }
        let old = ordered[position].entry.unsafelyUnwrapped
        let grownBytes = neededBytes > capacity ? Swift.max(neededBytes, Swift.min(2 * capacity, StoredEntry.maximumBytes)) : neededBytes
        let copy = old.withKey { key in
            old.withValue { value in
                StoredEntry.make(hash: old.hash, key: key, value: value, expireAtMilliseconds: old.expireAtMilliseconds,
                                 extraCapacity: grownBytes - key.count - value.count)
            }
        }
        ordered[position].entry = copy
        return copy
    }

    /// Removes every key. Sequence numbers keep growing, so old SCAN cursors never revisit
    /// new keys' numbers.
    mutating func removeAll() {
        ordered.removeAll()
        sequences.removeAll()
        slots = []
        count = 0
    }

    /// Makes room for `keys` keys in all, so that a loader that knows (or is told) how
    /// many are coming does not grow the table step by step. Only a hint: a table may
    /// always hold more.
    public mutating func reserveCapacity(_ keys: Int) {
        guard keys > count else { return }
        ordered.reserveCapacity(keys)
        sequences.reserveCapacity(keys)
        let slotCount = Self.slotCount(for: keys)
        if slotCount > slots.count { growIndex(slotCount: slotCount) }
    }

    // MARK: Index maintenance

    private static func slotCount(for keys: Int) -> Int {
        var slotCount = 8
        while keys * 4 > slotCount * 3 { slotCount *= 2 }
        return slotCount
    }

    /// Puts `position` into the first empty slot from its home.
    private mutating func place(hash: UInt32, position: Int) {
        place(UInt64(hash) << 32 | UInt64(position + 1))
    }

    private mutating func place(_ word: UInt64) {
        let hash = UInt32(truncatingIfNeeded: word >> 32)
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var slot = Int(hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = word
        }
    }

    /// Empties `slot` and shifts later members of its probe run back, so that every key
    /// stays reachable from its home without tombstones.
    private mutating func removeSlot(_ start: Int) {
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count - 1
            var hole = start
            var slot = start
            slots[hole] = 0
            while true {
                slot = (slot + 1) & mask
                let word = slots[slot]
                if word == 0 { return }
                let home = Int(truncatingIfNeeded: word >> 32) & mask
                // The key at `slot` may move to `hole` unless its home lies in (hole, slot].
                let homeBetween = hole <= slot ? (home > hole && home <= slot) : (home > hole || home <= slot)
                if !homeBetween {
                    slots[hole] = word
                    slots[slot] = 0
                    hole = slot
                }
            }
        }
    }

    /// A larger index holding the same words: growth reads only the index (each word
    /// carries its hash), never the entries.
    private mutating func growIndex(slotCount: Int) {
        let old = slots
        slots = [UInt64](repeating: 0, count: slotCount)
        for word in old where word != 0 { place(word) }
    }

    /// A fresh index of `slotCount` slots for the present positions (after compaction
    /// moved them), from the hashes kept in the entries.
    private mutating func rebuildIndex(slotCount: Int) {
        slots = [UInt64](repeating: 0, count: slotCount)
        for position in ordered.indices {
            if let entry = ordered[position].entry { place(hash: entry.hash, position: position) }
        }
    }

    /// Drops the tombstones from `ordered` (keeping order and sequences) and re-indexes.
    private mutating func compact() {
        var keptEntries = ChunkedArray<EntrySlot>()
        var keptSequences = ChunkedArray<UInt64>()
        keptEntries.reserveCapacity(count)
        keptSequences.reserveCapacity(count)
        for (entry, sequence) in zip(ordered, sequences) where entry.entry != nil {
            keptEntries.append(entry)
            keptSequences.append(sequence)
        }
        ordered = keptEntries
        sequences = keptSequences
        rebuildIndex(slotCount: Self.slotCount(for: count))
    }

    // MARK: Order: SCAN, RANDOMKEY, KEYS, iteration

    /// A uniformly random present key, or `nil` when there is none.
    func randomKey(using random: inout some RandomNumberGenerator) -> [UInt8]? {
        guard count > 0 else { return nil }
        while true {
            if let entry = ordered[Int(random.next(upperBound: UInt(ordered.count)))].entry { return entry.key }
        }
    }

    /// Up to `count` present keys with sequence numbers `>= cursor`, in order, and the
    /// cursor that continues after them (0 when the end was reached).
    func scan(from cursor: UInt64, count: Int) -> (keys: [[UInt8]], nextCursor: UInt64) {
        var position = firstPosition(atOrAfter: cursor)
        var keys: [[UInt8]] = []
        while position < ordered.count && keys.count < count {
            if let entry = ordered[position].entry { keys.append(entry.key) }
            position += 1
        }
        let nextCursor = position < ordered.count ? sequences[position] : 0
        return (keys, nextCursor)
    }

    private func firstPosition(atOrAfter sequence: UInt64) -> Int {
        var low = 0
        var high = sequences.count
        while low < high {
            let middle = (low + high) / 2
            if sequences[middle] < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Every present key, in insertion order.
    var keys: [[UInt8]] { ordered.compactMap { $0.entry?.key } }

    /// Calls `body` with every key's bytes, value bytes and expiry, in insertion order,
    /// without allocating: the snapshot writer's path. The buffers are valid only during
    /// the call.
    public func forEachEntry(
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ expireAtMilliseconds: Int64?) throws -> Void
    ) rethrows {
        for case let entry? in ordered.lazy.map(\.entry) {
            try entry.withKey { key in try entry.withValue { value in try body(key, value, entry.expireAtMilliseconds) } }
        }
    }
}

extension KeyTable: Sequence {
    /// Iterates `(key, entry)` pairs in insertion order, copying each out (tests and tools;
    /// the snapshot writer uses `forEachEntry`).
    public struct Iterator: IteratorProtocol {
        fileprivate var base: IndexingIterator<ChunkedArray<EntrySlot>>

        public mutating func next() -> (key: [UInt8], entry: Entry)? {
            while let slot = base.next() {
                if let entry = slot.entry { return (entry.key, entry.entry) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: ordered.makeIterator()) }
    public var underestimatedCount: Int { count }
}

extension KeyTable: Equatable {
    /// Same keys with the same values and expiries; order and sequences do not count.
    public static func == (left: KeyTable, right: KeyTable) -> Bool {
        guard left.count == right.count else { return false }
        for case let entry? in left.ordered.lazy.map(\.entry) {
            let matches = entry.withKey { key -> Bool in
                guard let (_, position) = right.locate(key, hash: right.hashOf(key)) else { return false }
                let other = right.ordered[position].entry.unsafelyUnwrapped
                return other.expireAtMilliseconds == entry.expireAtMilliseconds
                    && entry.withValue { value in other.withValue { bytesEqual(value, $0) } }
            }
            if !matches { return false }
        }
        return true
    }
}

/// One position of `KeyTable.ordered`: an entry, or `nil` for a deleted key's tombstone.
///
/// `@unchecked Sendable` because `ManagedBuffer` subclasses cannot be `Sendable`; sound
/// because a shared entry is never mutated (see `StoredEntry`).
struct EntrySlot: @unchecked Sendable {
    var entry: StoredEntry?
}
