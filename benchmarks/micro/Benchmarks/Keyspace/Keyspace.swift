// Micro-benchmarks of the keyspace's hot paths, through `Keyspace.execute` as a client's
// command reaches it: GET of a present key, SET overwriting a present key, SET of a new
// key. Keys look like redis-benchmark's (`key:000000123456`), values are 64 bytes, and the
// keyspace holds 1 M keys; GET and SET overwrite cycle through 64 Ki of them (8 MiB of
// entries, more than this CPU's L2), so most lookups miss the near caches.

import Benchmark
import UnderstudyCore

let keyCount = 1_000_000
let value = [UInt8](repeating: UInt8(ascii: "x"), count: 64)

func key(_ number: Int) -> [UInt8] {
    let digits = String(number)
    return Array(("key:" + String(repeating: "0", count: 12 - digits.count) + digits).utf8)
}

/// A keyspace of `keyCount` keys `key(0) ..< key(keyCount)`.
func loadedKeyspace() -> Keyspace {
    var keyspace = Keyspace()
    for number in 0..<keyCount {
        keyspace.apply(.set(key: key(number), value: value, expireAtMilliseconds: nil))
    }
    return keyspace
}

/// The commands, built outside the measured region (a parser hands over arrays like these).
let commandCount = 65_536
let getCommands = (0..<commandCount).map { Command(arguments: [Array("get".utf8), key(($0 &* 7919) % keyCount)]) }
let setCommands = (0..<commandCount).map { Command(arguments: [Array("set".utf8), key(($0 &* 7919) % keyCount), value]) }

struct NoRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}

/// Time and allocations per command: 1,000 commands per measured iteration.
func configuration() -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
}

let benchmarks: @Sendable () -> Void = {
    var keyspace = Keyspace()
    var random = NoRandom()
    let now: Int64 = 1_700_000_000_000

    /// Runs `commands` in turn against the loaded keyspace (loaded once, shared).
    func cycling(_ name: String, _ commands: [Command]) {
        Benchmark(name, configuration: configuration()) { benchmark in
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(keyspace.execute(commands[index & (commandCount - 1)], nowMilliseconds: now, random: &random))
                index &+= 1
            }
        } setup: {
            if keyspace.count == 0 { keyspace = loadedKeyspace() }
        }
    }
    cycling("Keyspace GET hit (1 M keys)", getCommands)
    cycling("Keyspace SET overwrite (1 M keys)", setCommands)

    // New keys, until the keyspace holds 1 M and starts over; the table's growth is
    // included. The commands are built before the measurement starts.
    var fresh = Keyspace()
    var nextKey = 0
    Benchmark("Keyspace SET new key", configuration: configuration()) { benchmark in
        if nextKey + benchmark.scaledIterations.count > keyCount {
            fresh = Keyspace()
            nextKey = 0
        }
        let commands = benchmark.scaledIterations.map { Command(arguments: [Array("set".utf8), key(nextKey + $0), value]) }
        nextKey += commands.count
        benchmark.startMeasurement()
        for command in commands {
            blackHole(fresh.execute(command, nowMilliseconds: now, random: &random))
        }
    }
}
