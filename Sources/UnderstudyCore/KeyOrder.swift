/// The keys of a `Keyspace` in insertion order, each tagged with a sequence number that
/// never changes while the key exists. SCAN's cursor is such a sequence number.
///
/// Why not Redis's reverse-binary cursor: Swift's `Dictionary` exposes neither its bucket
/// layout nor a stable position across growth, so a cursor into it would miss keys after
/// a resize. Here a key present for the whole iteration keeps its sequence number and its
/// relative order (compaction preserves order), so a scan that resumes "from sequence
/// `cursor` on" returns it exactly once. Keys added later get larger numbers; a key
/// deleted and added again gets a new number and may be returned twice, as Redis allows.
///
/// Deleted keys leave a tombstone that compaction removes once tombstones outnumber live
/// keys, so RANDOMKEY's pick of a random slot succeeds in about two tries on average.
struct KeyOrder: Sendable {
    private var slots: [[UInt8]?] = []
    /// Parallel to `slots`, strictly increasing.
    private var sequences: [UInt64] = []
    private var sequenceByKey: [[UInt8]: UInt64] = [:]
    private var nextSequence: UInt64 = 1

    var count: Int { sequenceByKey.count }

    /// Records a key that is not present yet.
    mutating func append(_ key: [UInt8]) {
        assert(sequenceByKey[key] == nil, "Internal inconsistency: key appended twice")
        sequenceByKey[key] = nextSequence
        slots.append(key)
        sequences.append(nextSequence)
        nextSequence += 1
    }

    mutating func remove(_ key: [UInt8]) {
        guard let sequence = sequenceByKey.removeValue(forKey: key) else { return }
        let position = firstPosition(atOrAfter: sequence)
        precondition(position < sequences.count && sequences[position] == sequence,
                     "Internal inconsistency: key order lost a key")
        slots[position] = nil
        let tombstones = slots.count - count
        if tombstones > count && tombstones > 32 { compact() }
    }

    mutating func removeAll() {
        slots.removeAll()
        sequences.removeAll()
        sequenceByKey.removeAll()
        // nextSequence keeps growing so that old cursors never revisit new keys' numbers.
    }

    /// A uniformly random present key, or `nil` when there is none.
    func randomKey(using random: inout some RandomNumberGenerator) -> [UInt8]? {
        guard count > 0 else { return nil }
        while true {
            if let key = slots[Int(random.next(upperBound: UInt(slots.count)))] { return key }
        }
    }

    /// Up to `count` present keys with sequence numbers `>= cursor`, in order, and the
    /// cursor that continues after them (0 when the end was reached).
    func scan(from cursor: UInt64, count: Int) -> (keys: [[UInt8]], nextCursor: UInt64) {
        var position = firstPosition(atOrAfter: cursor)
        var keys: [[UInt8]] = []
        while position < slots.count && keys.count < count {
            if let key = slots[position] { keys.append(key) }
            position += 1
        }
        let nextCursor = position < slots.count ? sequences[position] : 0
        return (keys, nextCursor)
    }

    /// Every present key, in insertion order.
    var keys: [[UInt8]] { slots.compactMap { $0 } }

    private func firstPosition(atOrAfter sequence: UInt64) -> Int {
        var low = 0
        var high = sequences.count
        while low < high {
            let middle = (low + high) / 2
            if sequences[middle] < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func compact() {
        var keptSlots: [[UInt8]?] = []
        var keptSequences: [UInt64] = []
        keptSlots.reserveCapacity(count)
        keptSequences.reserveCapacity(count)
        for (slot, sequence) in zip(slots, sequences) where slot != nil {
            keptSlots.append(slot)
            keptSequences.append(sequence)
        }
        slots = keptSlots
        sequences = keptSequences
    }
}
