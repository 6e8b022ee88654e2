// Micro-benchmarks of the RESP2 hot paths: `RESPCommandParser.parse` of one
// `SET key:000123 <64-byte value>` multibulk request and of 16 such requests pipelined in
// one buffer, the command lookup that follows (`Command.init`'s lower-case name and
// `CommandTable.index`), and `ByteBuffer.writeRESPReply` of `+OK` and of a 64-byte bulk.

import Benchmark
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Commands in the pipelined buffer.
let pipelinedCommandCount = 16

/// `*3\r\n$3\r\nSET\r\n$10\r\nkey:000123\r\n$64\r\n<64 bytes>\r\n` (101 bytes).
let setRequest: [UInt8] = {
    var buffer = ByteBuffer()
    buffer.writeRESPCommand(Command(arguments: [
        Array("SET".utf8),
        Array("key:000123".utf8),
        [UInt8](repeating: UInt8(ascii: "v"), count: 64),
    ]))
    return Array(buffer.readableBytesView)
}()

let pipelinedRequests: [UInt8] = Array([[UInt8]](repeating: setRequest, count: pipelinedCommandCount).joined())

let bulkReply = Reply.bulk([UInt8](repeating: UInt8(ascii: "v"), count: 64))

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

/// Parses every command in `bytes` with `parser`, as the decoder does across reads.
/// Returns the number of commands parsed.
func parseAll(_ bytes: UnsafeRawBufferPointer, with parser: inout RESPCommandParser) throws(RESPProtocolError) -> Int {
    var offset = 0
    var commandCount = 0
    while offset < bytes.count {
        let (consumedBytes, command) = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        offset += consumedBytes
        guard let command else { break }
        blackHole(command)
        commandCount += 1
    }
    return commandCount
}

let benchmarks: @Sendable () -> Void = {
    Benchmark("RESPCommandParser.parse SET 64-byte value", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        var parser = RESPCommandParser()
        try setRequest.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                let (consumedBytes, command) = try parser.parse(bytes)
                precondition(consumedBytes == bytes.count && command != nil, "the request did not parse whole")
                blackHole(command)
            }
        }
    }

    Benchmark("RESPCommandParser.parse 16 pipelined SETs (per buffer)", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        var parser = RESPCommandParser()
        try pipelinedRequests.withUnsafeBytes { bytes in
            for _ in benchmark.scaledIterations {
                let commandCount = try parseAll(bytes, with: &parser)
                precondition(commandCount == pipelinedCommandCount, "parsed \(commandCount) commands")
            }
        }
    }

    // What the dispatcher does with a parsed request before it runs: fold the name to lower
    // case (`Command.init`) and find its spec and metric series (`CommandTable.index`).
    Benchmark("Command.init + CommandTable.index GET", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        let arguments: [[UInt8]] = [Array("GET".utf8), Array("key:000123".utf8)]
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let command = Command(arguments: arguments)
            blackHole(CommandTable.index(named: command.name))
        }
    }

    // Replies accumulate in one buffer, as a pipelined batch's do; cleared per 1,000.
    Benchmark("ByteBuffer.writeRESPReply +OK", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 8 << 10)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.writeRESPReply(.ok)
        }
        blackHole(buffer.readableBytes)
    }

    Benchmark("ByteBuffer.writeRESPReply 64-byte bulk", configuration: configuration(scalingFactor: .kilo)) { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 128 << 10)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.writeRESPReply(bulkReply)
        }
        blackHole(buffer.readableBytes)
    }
}
