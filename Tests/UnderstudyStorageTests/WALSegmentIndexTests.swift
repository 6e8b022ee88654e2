import Testing
import UnderstudyCore
@testable import UnderstudyStorage

@Suite struct WALSegmentIndexTests {
    @Test func start_isTheClosestKnownFrameAtOrBelow_andOnlyContiguousBoundariesExtendIt() {
        var index = WALSegmentIndex(firstLSN: LSN(100))
        var offsets: [LSN: Int64] = [LSN(100): 32]
        var offset: Int64 = 32
        for lsn in 101...5100 {
            offset += 40
            offsets[LSN(UInt64(lsn))] = offset
            index.extend(lsn: LSN(UInt64(lsn)), offset: offset)
        }
        index.extend(lsn: LSN(9000), offset: 1 << 40)  // not contiguous: ignored
        #expect(index.frontier.lsn == LSN(5100))
        #expect(index.entries.count > 4 && index.entries.count < 10)
        for lsn in stride(from: 100, through: 6000, by: 7) {
            let start = index.start(for: LSN(UInt64(lsn)))
            #expect(start.lsn <= LSN(UInt64(lsn)))
            #expect(start.offset == offsets[start.lsn])
            #expect(UInt64(lsn) - start.lsn.rawValue <= WALSegmentIndex.strideFrames || start.lsn == index.frontier.lsn)
        }
    }
}
