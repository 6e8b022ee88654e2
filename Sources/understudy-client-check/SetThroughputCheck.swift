import UnderstudyClient

/// The `set-throughput` mode (benchmarks/client_overhead.sh): `callerCount` callers each send
/// `SET` through one client, one at a time, as fast as answers come, until a bound is hit —
/// `redis-benchmark -c <callers> -P 1 -t set` through `UnderstudyClient`.
struct SetThroughputCheck {
    let client: UnderstudyClient
    let callerCount: Int
    let bounds: LoadBounds
    static let keySpace = 100_000

    func run() async -> JSONValue {
        var ok = 0
        var failed = 0
        await withTaskGroup(of: (ok: Int, failed: Int).self) { group in
            for caller in 0..<callerCount {
                group.addTask { await self.runCaller(caller) }
            }
            for await result in group {
                ok += result.ok
                failed += result.failed
            }
        }
        let milliseconds = max(1, bounds.elapsedMilliseconds)
        return .object([
            ("mode", .string("set-throughput")),
            ("callers", .integer(Int64(callerCount))),
            ("ok", .integer(Int64(ok))),
            ("failed", .integer(Int64(failed))),
            ("milliseconds", .integer(milliseconds)),
            ("ops_per_second", .integer(Int64(ok) * 1_000 / milliseconds)),
        ])
    }

    private func runCaller(_ caller: Int) async -> (ok: Int, failed: Int) {
        var ok = 0
        var failed = 0
        var index = caller
        let value = Array("xxx".utf8)
        while bounds.takeTicket() {
            do {
                try await client.set("key:\(index % Self.keySpace)", value)
                ok += 1
            } catch {
                failed += 1
            }
            index += callerCount
        }
        return (ok, failed)
    }
}
