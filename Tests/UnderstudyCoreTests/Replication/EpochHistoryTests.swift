import Testing
@testable import UnderstudyCore

@Suite struct EpochHistoryTests {
    @Test func init_newNode_startsAtEpochOneFromLSNOne() {
        let fresh = EpochHistory()
        #expect(fresh.entries == [EpochHistory.Entry(epoch: .initial, firstLSN: LSN(1))])
        #expect(fresh.currentEpoch == .initial)
    }

    @Test func epochAt_findsTheLastEntryBeginningAtOrBefore() {
        let sample = history((1, 1), (3, 120), (4, 120), (7, 500))
        #expect(sample.epoch(at: .zero) == nil)
        #expect(sample.epoch(at: LSN(1)) == Epoch(1))
        #expect(sample.epoch(at: LSN(119)) == Epoch(1))
        #expect(sample.epoch(at: LSN(120)) == Epoch(4)) // epoch 3 wrote nothing
        #expect(sample.epoch(at: LSN(499)) == Epoch(4))
        #expect(sample.epoch(at: LSN(500)) == Epoch(7))
        #expect(sample.epoch(at: LSN(UInt64.max)) == Epoch(7))
    }

    @Test func begin_appendsAnEntry_sameLSNAllowed() {
        var grown = EpochHistory()
        grown.begin(epoch: Epoch(2), at: LSN(10))
        grown.begin(epoch: Epoch(3), at: LSN(10))
        #expect(grown.description == "1:1,2:10,3:10")
        #expect(grown.currentEpoch == Epoch(3))
    }

    @Test func init_entries_rejectsBrokenRules() {
        let broken: [[(UInt64, UInt64)]] = [
            [], [(1, 2)], [(0, 1)], [(2, 1), (2, 5)], [(2, 1), (1, 5)], [(1, 1), (2, 10), (3, 9)],
        ]
        for pairs in broken {
            #expect(throws: ReplicationError.self) {
                try EpochHistory(entries: pairs.map { EpochHistory.Entry(epoch: Epoch($0.0), firstLSN: LSN($0.1)) })
            }
        }
    }

    @Test func forkPoint_identical_neverDiverges() {
        let sample = history((1, 1), (2, 50))
        #expect(sample.forkPoint(with: sample) == LSN(UInt64.max))
    }

    @Test func forkPoint_oneExtendsTheOther_isTheLSNBeforeTheNewEpoch() {
        let old = history((1, 1), (2, 50))
        let newer = history((1, 1), (2, 50), (3, 90))
        #expect(old.forkPoint(with: newer) == LSN(89))
        #expect(newer.forkPoint(with: old) == LSN(89))
    }

    @Test func forkPoint_differentEpochsFromTheSameLSN() {
        // Two nodes each promoted into a different epoch after LSN 40.
        let left = history((1, 1), (2, 41))
        let right = history((1, 1), (3, 41))
        #expect(left.forkPoint(with: right) == LSN(40))
    }

    @Test func forkPoint_sameEpochBeganAtDifferentLSNs() {
        let left = history((1, 1), (2, 30))
        let right = history((1, 1), (2, 35))
        #expect(left.forkPoint(with: right) == LSN(29))
    }

    @Test func forkPoint_differentFirstEpoch_isZero() {
        #expect(history((1, 1)).forkPoint(with: history((2, 1))) == .zero)
    }

    @Test func truncatedAfter_dropsLaterEpochs() {
        let sample = history((1, 1), (2, 50), (3, 90))
        #expect(sample.truncated(after: LSN(89)) == history((1, 1), (2, 50)))
        #expect(sample.truncated(after: LSN(90)) == sample)
        #expect(sample.truncated(after: .zero) == history((1, 1)))
    }
}
