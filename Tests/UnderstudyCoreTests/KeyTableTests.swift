import Testing
@testable import UnderstudyCore

@Suite struct KeyTableTests {
    private static func key(_ number: Int) -> [UInt8] { Array("key:\(number)".utf8) }
    private static let isolationKeys = 2 * ChunkedArray<EntrySlot>.chunkSize + 300

    private static func model(_ table: KeyTable) -> [[UInt8]: Entry] {
        Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.entry) })
    }

    /// Keys (as text) whose entry in `table` differs from `model`'s, either way.
    private static func keysDiffering(_ table: KeyTable, from model: [[UInt8]: Entry]) -> [String] {
        let current = Self.model(table)
        return Set(current.keys).union(model.keys).filter { current[$0] != model[$0] }.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func set_growsPastManyResizes_andFindsEveryKeyInInsertionOrder() {
        var table = KeyTable()
        for number in 0..<20_000 { table.set(key: Self.key(number), value: Array("v\(number)".utf8), expireAtMilliseconds: nil) }
        #expect(table.count == 20_000)
        for number in stride(from: 0, to: 20_000, by: 7) {
            #expect(table[Self.key(number)] == Entry(value: Array("v\(number)".utf8)))
        }
        #expect(table[Self.key(20_000)] == nil)
        #expect(table.keys == (0..<20_000).map(Self.key))
    }

    @Test func set_existingKey_keepsItsPositionAndReportsTheOldExpiry() {
        var table = KeyTable()
        table.set(key: Self.key(1), value: [1], expireAtMilliseconds: 50)
        table.set(key: Self.key(2), value: [2], expireAtMilliseconds: nil)
        let replaced = table.set(key: Self.key(1), value: [1, 1, 1], expireAtMilliseconds: nil)
        #expect(replaced.existed && replaced.expireAtMilliseconds == 50)
        #expect(table.keys == [Self.key(1), Self.key(2)])
        #expect(table[Self.key(1)] == Entry(value: [1, 1, 1]))
    }

    /// Every key on one hash: one long probe run, so lookups must compare bytes and
    /// deletion must shift the run back correctly.
    @Test func forcedEqualHash_setFindRemove_matchesADictionary() {
        var table = KeyTable()
        table.collidingHashForTesting = true
        var model: [[UInt8]: Entry] = [:]
        var random = SeededGenerator(seed: 5)
        for _ in 0..<3_000 {
            let key = Self.key(Int(random.next(upperBound: UInt64(200))))
            switch random.next(upperBound: UInt64(3)) {
            case 0:
                #expect((table.remove(key) != nil) == (model.removeValue(forKey: key) != nil))
            default:
                let value = Array(repeating: UInt8(random.next(upperBound: UInt64(256))), count: Int(random.next(upperBound: UInt64(40))))
                table.set(key: key, value: value, expireAtMilliseconds: nil)
                model[key] = Entry(value: value)
            }
        }
        #expect(table.count == model.count)
        #expect(Self.model(table) == model)
        for number in 0..<200 { #expect(table[Self.key(number)] == model[Self.key(number)]) }
    }

    @Test func remove_withBackshift_keepsEveryOtherKeyReachable() {
        for colliding in [false, true] {
            var table = KeyTable()
            table.collidingHashForTesting = colliding
            for number in 0..<500 { table.set(key: Self.key(number), value: [UInt8(number % 256)], expireAtMilliseconds: nil) }
            for number in stride(from: 0, to: 500, by: 2) { #expect(table.remove(Self.key(number)) != nil) }
            #expect(table.remove(Self.key(0)) == nil)
            #expect(table.count == 250)
            for number in 0..<500 {
                #expect((table[Self.key(number)] != nil) == (number % 2 == 1), "key \(number), colliding \(colliding)")
            }
            // Compaction ran (tombstones outnumbered keys at some point): order is kept.
            #expect(table.keys == stride(from: 1, to: 500, by: 2).map(Self.key))
        }
    }

    @Test func scan_returnsEveryKeyPresentThroughout_exactlyOnce_acrossGrowthAndCompaction() {
        var table = KeyTable()
        for number in 0..<100 { table.set(key: Self.key(number), value: [], expireAtMilliseconds: nil) }
        var seen: [[UInt8]: Int] = [:]
        var cursor: UInt64 = 0
        var round = 0
        repeat {
            let batch = table.scan(from: cursor, count: 7)
            for key in batch.keys { seen[key, default: 0] += 1 }
            cursor = batch.nextCursor
            // Between calls: the index grows (many new keys) and tombstones get compacted.
            for number in 0..<200 { table.set(key: Self.key(1_000 + round * 200 + number), value: [], expireAtMilliseconds: nil) }
            for number in 0..<200 { table.remove(Self.key(1_000 + round * 200 + number)) }
            round += 1
        } while cursor != 0
        for number in 0..<100 { #expect(seen[Self.key(number)] == 1, "key \(number)") }
    }

    @Test func randomKey_picksOnlyPresentKeys_andEveryOneOfThem() {
        var table = KeyTable()
        var random = SeededGenerator(seed: 9)
        #expect(table.randomKey(using: &random) == nil)
        for number in 0..<40 { table.set(key: Self.key(number), value: [], expireAtMilliseconds: nil) }
        for number in 0..<30 { table.remove(Self.key(number)) }
        var picked: Set<[UInt8]> = []
        for _ in 0..<1_000 {
            let key = table.randomKey(using: &random)
            #expect(key.map { table[$0] != nil } == true)
            if let key { picked.insert(key) }
        }
        #expect(picked == Set((30..<40).map(Self.key)))
    }

    @Test func patchValue_appendsInPlace_withAmortisedGrowth() {
        var table = KeyTable()
        table.set(key: Self.key(1), value: [], expireAtMilliseconds: 77)
        var identities: Set<ObjectIdentifier> = []
        for byte in 0..<10_000 {
            let patched = table.patchValue(Self.key(1), at: nil, with: [UInt8(byte % 256)])
            #expect(patched)
            identities.insert(ObjectIdentifier(table.storedEntry(Self.key(1))!))
        }
        #expect(table[Self.key(1)] == Entry(value: (0..<10_000).map { UInt8($0 % 256) }, expireAtMilliseconds: 77))
        #expect(identities.count < 20)  // doubling: about log2(10_000) reallocations
        let patched = table.patchValue(Self.key(2), at: nil, with: [1])
        #expect(patched == false)
    }

    @Test func patchValue_pastTheEnd_zeroFills() {
        var table = KeyTable()
        table.set(key: Self.key(1), value: [9], expireAtMilliseconds: nil)
        let patched = table.patchValue(Self.key(1), at: 3, with: [7, 7])
        #expect(patched)
        #expect(table[Self.key(1)]?.value == [9, 0, 0, 7, 7])
        let patchedAgain = table.patchValue(Self.key(1), at: 1, with: [5])
        #expect(patchedAgain)
        #expect(table[Self.key(1)]?.value == [9, 5, 0, 7, 7])
    }

    /// A snapshot is a copy of the keyspace taken while the live one keeps changing: it
    /// MUST keep seeing exactly the state at the copy, whatever path a later write takes
    /// (in-place overwrite, append, setrange, expiry, delete, rename, flush).
    @Test func copy_neverSeesLaterWrites_onAnyMutationPath() {
        // Keys over several of the table's chunks (`ChunkedArray`), so that writes land in
        // chunks the copy shares and in chunks already copied.
        var live = Keyspace()
        for number in 0..<Self.isolationKeys {
            live.apply(.set(key: Self.key(number), value: Array(repeating: UInt8(number % 256), count: 64), expireAtMilliseconds: number % 3 == 0 ? 5_000 : nil))
        }
        let snapshot = live
        let frozen = Self.model(snapshot.entries)
        for number in 0..<Self.isolationKeys {
            switch number % 8 {
            case 0: live.apply(.set(key: Self.key(number), value: Array(repeating: 0xEE, count: 64), expireAtMilliseconds: nil))
            case 1: live.apply(.append(key: Self.key(number), suffix: [1, 2, 3]))
            case 2: live.apply(.setRange(key: Self.key(number), offset: 2, bytes: [0xAB]))
            case 3: live.apply(.setExpiry(key: Self.key(number), expireAtMilliseconds: 9_000))
            case 4: live.apply(.delete(key: Self.key(number)))
            case 5: live.apply(.rename(from: Self.key(number), to: Self.key(number - 1)))
            case 6: live.apply(.setExpiry(key: Self.key(number), expireAtMilliseconds: nil))
            default: live.apply(.set(key: Self.key(100_000 + number), value: [1], expireAtMilliseconds: nil))
            }
        }
        #expect(Self.keysDiffering(snapshot.entries, from: frozen).isEmpty)
        #expect(snapshot.count == Self.isolationKeys)
        #expect(Self.keysDiffering(live.entries, from: frozen).count > Self.isolationKeys * 2 / 3)
        live.apply(.flushAll)
        #expect(Self.keysDiffering(snapshot.entries, from: frozen).isEmpty)
    }

    /// The other direction: writes to a copy never reach the original.
    @Test func copy_writesStayInTheCopy() {
        var original = KeyTable()
        original.set(key: Self.key(1), value: [1, 2, 3], expireAtMilliseconds: nil)
        var copy = original
        copy.set(key: Self.key(1), value: [4, 5, 6], expireAtMilliseconds: 3)
        let patched = copy.patchValue(Self.key(1), at: nil, with: [7])
        #expect(patched)
        #expect(original[Self.key(1)] == Entry(value: [1, 2, 3]))
        #expect(copy[Self.key(1)] == Entry(value: [4, 5, 6, 7], expireAtMilliseconds: 3))
    }

    @Test func equality_ignoresOrder_butNotValuesOrExpiries() {
        var left = KeyTable()
        var right = KeyTable()
        left.set(key: Self.key(1), value: [1], expireAtMilliseconds: nil)
        left.set(key: Self.key(2), value: [2], expireAtMilliseconds: 4)
        right.set(key: Self.key(2), value: [2], expireAtMilliseconds: 4)
        right.set(key: Self.key(1), value: [1], expireAtMilliseconds: nil)
        #expect(left == right)
        right.set(key: Self.key(2), value: [2], expireAtMilliseconds: 5)
        #expect(left != right)
        right.set(key: Self.key(2), value: [3], expireAtMilliseconds: 4)
        #expect(left != right)
    }

    @Test func forEachEntry_givesBytesAndExpiryInOrder() {
        var table = KeyTable()
        table.set(key: [1], value: [10, 11], expireAtMilliseconds: nil)
        table.set(key: [2], value: [], expireAtMilliseconds: -5)
        var seen: [([UInt8], [UInt8], Int64?)] = []
        table.forEachEntry { key, value, expiry in seen.append((Array(key), Array(value), expiry)) }
        #expect(seen.count == 2)
        #expect(seen[0].0 == [1] && seen[0].1 == [10, 11] && seen[0].2 == nil)
        #expect(seen[1].0 == [2] && seen[1].1 == [] && seen[1].2 == -5)
    }
}
