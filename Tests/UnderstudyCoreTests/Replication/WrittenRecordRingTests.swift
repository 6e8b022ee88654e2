import Testing
@testable import UnderstudyCore

@Suite struct WrittenRecordRingTests {
    @Test func answers_timesAndBytes_ofRecordsItHolds() {
        var ring = WrittenRecordRing(capacity: 8, lastLSN: LSN(10))
        for lsn in 11...14 { ring.append(lsn: LSN(UInt64(lsn)), bytes: 10 * lsn, timeMilliseconds: Int64(lsn * 100)) }
        #expect(ring.lastLSN == LSN(14))
        #expect(ring.writeTime(of: LSN(12)) == 1200)
        #expect(ring.writeTime(of: LSN(15)) == nil)
        #expect(ring.writeTime(of: LSN(10)) == nil) // before the ring began: unknown
        #expect(ring.cumulativeBytes(through: LSN(12)) == 110 + 120)
        #expect(ring.cumulativeBytes(through: LSN(10)) == 0)
        #expect(ring.totalBytes == 110 + 120 + 130 + 140)
        #expect(ring.lastLSN(writtenAtOrBefore: 1250) == LSN(12))
        #expect(ring.lastLSN(writtenAtOrBefore: 1099) == nil)
    }

    @Test func full_dropsTheOldest_andKeepsItAsAnUpperBound() {
        var ring = WrittenRecordRing(capacity: 4, lastLSN: .zero)
        for lsn in 1...10 { ring.append(lsn: LSN(UInt64(lsn)), bytes: 1, timeMilliseconds: Int64(lsn)) }
        #expect(ring.count == 4)
        #expect(ring.horizon.lsn == LSN(6))
        #expect(ring.writeTime(of: LSN(2)) == 6)   // written at 2, bounded by 6: timeouts fire late, not early
        #expect(ring.cumulativeBytes(through: LSN(2)) == 6)
        #expect(ring.writeTime(of: LSN(8)) == 8)
        #expect(ring.lastLSN(writtenAtOrBefore: 6) == LSN(6))
        #expect(ring.lastLSN(writtenAtOrBefore: 5) == nil)
    }

    @Test func clockSteppingBack_isTreatedAsStandingStill() {
        var ring = WrittenRecordRing(capacity: 4, lastLSN: .zero)
        ring.append(lsn: LSN(1), bytes: 1, timeMilliseconds: 100)
        ring.append(lsn: LSN(2), bytes: 1, timeMilliseconds: 50)
        #expect(ring.writeTime(of: LSN(2)) == 100)
    }
}
