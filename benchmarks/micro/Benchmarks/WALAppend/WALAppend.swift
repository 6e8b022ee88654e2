// Micro-benchmarks of the WAL write path: `WALWriter.append` (encode a frame into the
// pending buffer), `append` + `writePending` per batch of 32 records (one write(2), no
// fsync), the effect record codec on its own, and CRC32C over 4 KiB.
//
// The record is the one a `SET key:000123 <64-byte value>` logs: one `.set` effect with a
// 10-byte key and a 64-byte value, no expiry (a 79-byte payload, a 103-byte frame).

import Benchmark
import Foundation
import Logging
import UnderstudyCore
import UnderstudyStorage

/// The effect of `SET key:000123 <64-byte value>`.
let setEffects: [Effect] = [
    .set(
        key: Array("key:000123".utf8),
        value: [UInt8](repeating: UInt8(ascii: "v"), count: 64),
        expireAtMilliseconds: nil
    )
]

/// Records appended per `writePending` in the batch benchmark.
let recordsPerBatch = 32

/// Time and allocations per operation: `scalingFactor` operations per measured iteration
/// (the results are divided by it). A function: `Benchmark.Configuration` is not `Sendable`.
func configuration(scalingFactor: BenchmarkScalingFactor) -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: scalingFactor,
        maxDuration: .seconds(2),
        maxIterations: 200_000
    )
}

/// A fresh data directory with a recovered, open `WALWriter`; removed in teardown.
final class WALFixture {
    let dataDirectory: String
    let writer: WALWriter
    private var segmentFirstLSNAtLastPrune = LSN.zero

    init() throws {
        dataDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("understudy-wal-bench-\(UUID().uuidString)").path
        let logger = Logger(label: "understudy.benchmark") { _ in SwiftLogNoOpLogHandler() }
        let recovered = try Recovery.recover(dataDirectory: dataDirectory, logger: logger)
        writer = try WALWriter.open(dataDirectory: dataDirectory, after: recovered)
    }

    /// Keeps the disk and descriptors bounded: once the writer has moved to a new segment,
    /// releases the sealed segments' descriptors (a sync job dropped unrun: no fsync) and
    /// deletes them. Call outside the measured region.
    func dropSealedSegments() throws {
        let active = writer.activeSegmentFirstLSN
        guard active != segmentFirstLSNAtLastPrune, writer.lastWrittenLSN >= active else { return }
        _ = writer.makeSyncJob()
        _ = try WALSegments.prune(
            dataDirectory: dataDirectory,
            coveredBy: writer.lastWrittenLSN,
            retainBytes: 0,
            activeSegmentFirstLSN: active
        )
        segmentFirstLSNAtLastPrune = active
    }

    func remove() {
        writer.close()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

/// Registers a benchmark that gets its own `WALFixture`, created in setup and removed in
/// teardown.
func walBenchmark(
    _ name: String,
    configuration: Benchmark.Configuration,
    body: @escaping (Benchmark, WALFixture) throws -> Void
) {
    var fixture: WALFixture?
    Benchmark(name, configuration: configuration) { benchmark in
        guard let fixture else { fatalError("Internal inconsistency: benchmark ran without its setup") }
        try body(benchmark, fixture)
    } setup: {
        fixture = try WALFixture()
    } teardown: {
        fixture?.remove()
        fixture = nil
    }
}

let benchmarks: @Sendable () -> Void = {
    walBenchmark("WALWriter.append 64-byte SET", configuration: configuration(scalingFactor: .kilo)) { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.writer.append(epoch: .initial, effects: setEffects))
        }
        benchmark.stopMeasurement()
        try fixture.writer.writePending()
        try fixture.dropSealedSegments()
    }

    // One operation is one batch: 32 appends and one write(2). Segment rollovers (every
    // ~20,000 batches at the default 64 MiB) fall inside the measured region, as they would.
    walBenchmark("WALWriter.append x32 + writePending (per batch, no fsync)", configuration: configuration(scalingFactor: .kilo)) { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            for _ in 0..<recordsPerBatch {
                blackHole(try fixture.writer.append(epoch: .initial, effects: setEffects))
            }
            blackHole(try fixture.writer.writePending())
        }
        benchmark.stopMeasurement()
        try fixture.dropSealedSegments()
    }

    // A standby's batch: 32 frames as they arrive from the primary, decoded (CRCs checked,
    // effects out), then appended. Before: `appendFrames` parsed and checked them again.
    let receivedBatch = standbyBatch(records: recordsPerBatch)
    walBenchmark("Standby batch x32: decodeFrames + appendFrames (parses twice)", configuration: configuration(scalingFactor: .kilo)) { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            let records = try WALFormat.decodeFrames(receivedBatch.frames(after: fixture.writer.lastAppendedLSN))
            blackHole(records.count)
            blackHole(try fixture.writer.appendFrames(receivedBatch.bytes))
            blackHole(try fixture.writer.writePending())
        }
        benchmark.stopMeasurement()
        try fixture.dropSealedSegments()
    }
    walBenchmark("Standby batch x32: decodeFrames + appendDecodedFrames (parses once)", configuration: configuration(scalingFactor: .kilo)) { benchmark, fixture in
        for _ in benchmark.scaledIterations {
            let frames = receivedBatch.frames(after: fixture.writer.lastAppendedLSN)
            let records = try WALFormat.decodeFrames(frames)
            try frames.withUnsafeBytes { blackHole(try fixture.writer.appendDecodedFrames(records[...], in: $0)) }
            blackHole(try fixture.writer.writePending())
        }
        benchmark.stopMeasurement()
        try fixture.dropSealedSegments()
    }

    Benchmark("Effect.encodeRecord 64-byte SET (into reused buffer)", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            Effect.encodeRecord(setEffects, into: &buffer)
            blackHole(buffer.count)
        }
    }

    Benchmark("Effect.encodeRecord 64-byte SET (returns new array)", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Effect.encodeRecord(setEffects))
        }
    }

    let page = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    Benchmark("CRC32C.checksum 4 KiB", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        page.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                blackHole(CRC32C.checksum(bytes))
            }
        }
    }
}

/// Frames of `records` SET records as a primary ships them, encoded afresh for each LSN
/// range (a standby only accepts the LSNs after its last one). Both standby benchmarks pay
/// this encoding alike; their difference is the second parse.
final class StandbyBatch {
    let records: Int
    private(set) var bytes: [UInt8] = []

    init(records: Int) {
        self.records = records
    }

    /// The batch that follows `lastLSN` (encoding is outside what the benchmark compares:
    /// both variants pay it alike).
    func frames(after lastLSN: LSN) -> [UInt8] {
        bytes.removeAll(keepingCapacity: true)
        var lsn = lastLSN
        for _ in 0..<records {
            lsn = lsn.next
            // The WAL frame layout (docs/storage.md): length, CRC32C of what follows it,
            // epoch, LSN, all little-endian, then the effect record.
            let start = bytes.count
            bytes.append(contentsOf: [UInt8](repeating: 0, count: WALFormat.frameHeaderBytes))
            Effect.encodeRecord(setEffects, into: &bytes)
            bytes.withUnsafeMutableBytes { frame in
                frame.storeBytes(of: UInt32(frame.count - start - WALFormat.frameHeaderBytes).littleEndian, toByteOffset: start, as: UInt32.self)
                frame.storeBytes(of: Epoch.initial.rawValue.littleEndian, toByteOffset: start + 8, as: UInt64.self)
                frame.storeBytes(of: lsn.rawValue.littleEndian, toByteOffset: start + 16, as: UInt64.self)
                let checksum = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[(start + 8)...]))
                frame.storeBytes(of: checksum.littleEndian, toByteOffset: start + 4, as: UInt32.self)
            }
        }
        return bytes
    }
}

func standbyBatch(records: Int) -> StandbyBatch { StandbyBatch(records: records) }
