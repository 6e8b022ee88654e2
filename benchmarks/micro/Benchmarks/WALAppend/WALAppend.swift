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
