import Testing
@testable import UnderstudyCore

/// A full disk is a state the node leaves by itself; a failed log is not.
@Suite struct DataNodeDiskFullTests {
    private func standalone(lastLSN: UInt64) -> DataNode {
        DataNode(configuration: DataNode.Configuration(pair: nil), history: EpochHistory(), lastLSN: LSN(lastLSN),
                 lastRecordChecksum: nil)
    }

    private func failures(_ actions: [NodeAction]) -> [(after: LSN, through: LSN, message: String)] {
        actions.compactMap { if case .fail(let after, let through, let message) = $0 { return (after, through, message) } else { return nil } }
    }

    @Test func logFull_refusesWrites_servesReads_andFailsDroppedRecordsAsNotExecuted() {
        var node = standalone(lastLSN: 3)
        node.appended(upTo: LSN(6), checksum: 1)
        let actions = node.logFull("write: No space left on device", writtenThrough: LSN(3))
        let failed = failures(actions)
        #expect(failed.count == 1)
        #expect(failed.first?.after == LSN(3), "records 4...6 were never written: their writes did not run")
        #expect(failed.first?.message.hasPrefix("ERR write refused: disk full (ENOSPC)") == true)
        #expect(actions.contains { if case .event(let event) = $0 { return event.kind == .diskFull } else { return false } })
        #expect(node.log.appended == LSN(3), "the node's log ends where the files do")
        #expect(node.refusal(isWrite: true, nowMilliseconds: 0) == .diskFull(reason: "write: No space left on device"))
        #expect(node.refusal(isWrite: false, nowMilliseconds: 0) == nil, "reads are served while the disk is full")
        #expect(!node.mayExpireKeys(nowMilliseconds: 0), "an expiry would be a write")
    }

    @Test func logFull_heldRepliesOfWrittenButUnacknowledgedRecords_areUncertain() {
        var node = standalone(lastLSN: 3)
        node.appended(upTo: LSN(6), checksum: 1)
        _ = node.written(upTo: LSN(5), bytes: 100, nowMilliseconds: 0)
        let failed = failures(node.logFull("ENOSPC", writtenThrough: LSN(5)))
        #expect(failed.count == 2)
        #expect(failed.first.map { $0.after == LSN(3) && $0.through == LSN(5) && $0.message.hasPrefix(UncertainOutcome.prefix) } == true)
        #expect(failed.last.map { $0.after == LSN(5) && $0.message.contains("not executed") } == true)
    }

    @Test func diskSpaceReturned_acceptsWritesAgain_once() {
        var node = standalone(lastLSN: 3)
        _ = node.logFull("ENOSPC", writtenThrough: LSN(3))
        let actions = node.diskSpaceReturned(nowMilliseconds: 10)
        #expect(actions.contains { if case .event(let event) = $0 { return event.kind == .diskSpaceReturned } else { return false } })
        #expect(node.refusal(isWrite: true, nowMilliseconds: 10) == nil)
        #expect(node.diskSpaceReturned(nowMilliseconds: 20) == [], "nothing to report twice")
    }

    @Test func aFailedLog_isNotLeftByDiskSpace() {
        var node = standalone(lastLSN: 3)
        _ = node.logFull("ENOSPC", writtenThrough: LSN(3))
        _ = node.logFailed("fdatasync: EIO")
        #expect(node.diskSpaceReturned(nowMilliseconds: 10) == [])
        #expect(node.refusal(isWrite: true, nowMilliseconds: 10) == .logFailed(reason: "fdatasync: EIO"))
        #expect(node.logFull("ENOSPC", writtenThrough: LSN(3)) == [], "after fsyncgate nothing is retried")
    }

    @Test func aStandbysFullDisk_isFatal() {
        var node = DataNode(configuration: DataNode.Configuration(pair: .init(
            peer: "127.0.0.1:7001", mode: .async, role: .standby, hint: .standby, coordination: nil,
            maxWaitingRecords: 100, syncTimeoutMilliseconds: 1_000, windowBytes: 1 << 20)),
            history: EpochHistory(), lastLSN: LSN(3), lastRecordChecksum: nil)
        let actions = node.logFull("ENOSPC", writtenThrough: LSN(3))
        #expect(node.diskFull == nil)
        #expect(node.logFailure?.contains("ENOSPC") == true)
        #expect(actions.contains { if case .event(let event) = $0 { return event.kind == .logFailed } else { return false } })
    }
}
