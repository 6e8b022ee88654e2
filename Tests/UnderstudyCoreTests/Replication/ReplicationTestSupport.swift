@testable import UnderstudyCore

/// Builds a history from `(epoch, firstLSN)` pairs; traps on an invalid one (a test bug).
func history(_ pairs: (UInt64, UInt64)...) -> EpochHistory {
    do {
        return try EpochHistory(entries: pairs.map { EpochHistory.Entry(epoch: Epoch($0.0), firstLSN: LSN($0.1)) })
    } catch {
        fatalError("test history is invalid: \(error)")
    }
}

/// A primary's WAL for handshake tests: records `oldestRetained...lastWritten` retained,
/// record n's checksum is `n * 7` unless overridden.
struct FakePrimaryLog {
    var lastWrittenLSN: LSN
    var oldestRetainedLSN = LSN(1)
    var newestSnapshotLSN: LSN?
    var checksumOverrides: [LSN: UInt32] = [:]

    static func checksum(_ lsn: LSN) -> UInt32 { UInt32(truncatingIfNeeded: lsn.rawValue &* 7) }

    var facts: PrimaryLogFacts {
        let (oldest, last, overrides) = (oldestRetainedLSN, lastWrittenLSN, checksumOverrides)
        return PrimaryLogFacts(lastWrittenLSN: last, oldestRetainedLSN: oldest, newestSnapshotLSN: newestSnapshotLSN) { lsn in
            guard lsn >= oldest, lsn <= last, lsn != .zero else { return nil }
            return overrides[lsn] ?? FakePrimaryLog.checksum(lsn)
        }
    }
}

/// A primary with `written` records of 100 bytes written at time 0 and, unless said
/// otherwise, all durable locally.
func makePrimary(mode: ReplicationMode, written: UInt64 = 0, durable: UInt64? = nil, maxWaitingRecords: Int = 100,
                 syncTimeoutMilliseconds: Int64 = 5000, windowBytes: Int = 1000, maxWaiters: Int = 8,
                 writtenRecordCapacity: Int = 1024) -> PrimaryReplication {
    var primary = PrimaryReplication(mode: mode, epoch: Epoch(1), history: EpochHistory(), maxWaitingRecords: maxWaitingRecords,
                                     syncTimeoutMilliseconds: syncTimeoutMilliseconds, windowBytes: windowBytes,
                                     maxWaiters: maxWaiters, writtenRecordCapacity: writtenRecordCapacity)
    if written > 0 {
        for lsn in 1...written { _ = primary.recordWritten(LSN(lsn), bytes: 100, nowMilliseconds: 0) }
    }
    _ = primary.localDurable(LSN(durable ?? written), nowMilliseconds: 0)
    return primary
}

/// Attaches a standby at `lastLSN` (histories equal, checksums matching) and reports the
/// stream ready; returns the actions of `readyToStream`. With `sendAll`, a batch asked
/// for is reported sent up to the last written LSN (100 bytes a record).
@discardableResult
func attachStandby(_ primary: inout PrimaryReplication, lastLSN: UInt64 = 0, sendAll: Bool = true) -> [PrimaryAction] {
    let log = FakePrimaryLog(lastWrittenLSN: primary.lastWrittenLSN)
    let handshake = StandbyHandshake(standbyAddress: "127.0.0.1:7001", epoch: Epoch(1), lastLSN: LSN(lastLSN),
                                     lastRecordChecksum: lastLSN == 0 ? nil : FakePrimaryLog.checksum(LSN(lastLSN)),
                                     history: primary.history)
    guard case .stream = primary.standbyHandshake(handshake, facts: log.facts) else {
        fatalError("test standby was not streamed")
    }
    let actions = primary.readyToStream()
    for case .sendRecords(let from, _) in actions where sendAll {
        let upTo = primary.lastWrittenLSN
        _ = primary.recordsSent(upTo: upTo, bytes: Int(upTo.rawValue - from.rawValue + 1) * 100)
    }
    return actions
}

func releases(_ actions: [PrimaryAction]) -> [LSN] {
    actions.compactMap { if case .release(let lsn) = $0 { return lsn } else { return nil } }
}

func header(_ lsn: UInt64, epoch: UInt64 = 1, checksum: UInt32? = nil, bytes: Int = 50) -> RecordHeader {
    RecordHeader(epoch: Epoch(epoch), lsn: LSN(lsn), checksum: checksum ?? FakePrimaryLog.checksum(LSN(lsn)), byteCount: bytes)
}
