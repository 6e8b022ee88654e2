/// Discovery: every known node probed in parallel with `ROLE` and `INFO replication`, after
/// an error or a redirect that names no primary (no periodic refresh). Concurrent callers
/// share one probe; each waits for it no longer than its own deadline allows.
extension UnderstudyClient {
    func refreshTopology(withinMilliseconds waitMilliseconds: Int64) async {
        guard !isShutDown else { return }
        let task: Task<Void, Never>
        if let running = probeTask {
            task = running
        } else {
            guard topology.shouldProbe(nowMilliseconds: clock.nowMilliseconds()) else { return }
            let probeTimeout = min(configuration.probeTimeoutMilliseconds, waitMilliseconds)
            let pools = topology.nodes.map { pool(for: $0) }
            task = Task { await self.probe(pools, timeoutMilliseconds: probeTimeout) }
            probeTask = task
        }
        await Self.wait(for: task, atMostMilliseconds: waitMilliseconds)
    }

    private func probe(_ pools: [NodePool], timeoutMilliseconds: Int64) async {
        let answers = await withTaskGroup(of: Topology.ProbeAnswer?.self) { group in
            for pool in pools {
                group.addTask { await pool.probe(timeoutMilliseconds: timeoutMilliseconds) }
            }
            var answers: [Topology.ProbeAnswer] = []
            for await answer in group {
                if let answer { answers.append(answer) }
            }
            return answers
        }
        publish(topology.receive(answers, nowMilliseconds: clock.nowMilliseconds()))
        probeTask = nil
    }

    /// Waits for `task`, or `milliseconds`, whichever comes first; the probe goes on for the
    /// callers that can wait longer.
    private static func wait(for task: Task<Void, Never>, atMostMilliseconds milliseconds: Int64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await task.value }
            group.addTask {
                do {
                    try await Task.sleep(for: .milliseconds(milliseconds))
                } catch {
                    // Cancelled: the probe finished first.
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
