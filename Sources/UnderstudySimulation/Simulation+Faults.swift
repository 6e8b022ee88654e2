import UnderstudyCore

/// The fault schedule: from `beginFaults` to `heal`, a fault every few hundred
/// milliseconds, each undone after a while; at `heal` everything is undone at once.
extension Simulation {
    func handleFaultEvent(_ event: SimulationEvent) {
        switch event {
        case .beginFaults:
            phase = .faults
            note("faults begin")
            schedule(.nextFault, afterMicroseconds: 0)
        case .nextFault:
            guard phase == .faults else { return }
            injectFault()
            schedule(.nextFault, afterMicroseconds: random.int(in: 100_000...1_500_000))
        case .crash(let process):
            crash(process)
        case .restart(let process):
            restart(process)
        case .diskSpaceReturned(let process, let incarnation):
            guard processUp[process], incarnations[process] == incarnation else { return }
            nodes[process].diskSpaceReturned()
        case .pause(let process, let microseconds):
            guard processUp[process], pausedUntil[process].map({ $0 <= now }) ?? true else { return }
            pausedUntil[process] = now + microseconds
            statistics.pauses += 1
            note("\(processName(process)) paused for \(microseconds / 1_000) ms")
        case .switchover(let process):
            guard processUp[process] else { return }
            nodes[process].switchoverRequested()
        case .terminate(let process):
            guard processUp[process] else { return }
            nodes[process].terminateRequested()
        case .forcePromotion(let process):
            guard processUp[process] else { return }
            nodes[process].forcedPromotionRequested()
        case .unblock(let from, let to):
            partitions.unblock(from: from, to: to)
        case .weather(let newWeather):
            guard phase == .faults else { return }
            weather = newWeather
        case .heal:
            heal()
        case .stopClients:
            phase = .quiet
            note("clients stop")
            for client in clients { client.stop() }
        default:
            break
        }
    }

    func processName(_ process: Int) -> String {
        switch process {
        case 0, 1: return nodes[process].name
        case Self.witnessIndex: return "witness"
        default: return "client\(process - Self.firstClientIndex)"
        }
    }

    private func injectFault() {
        let servers = [0, 1, Self.witnessIndex]
        // The switchover and log-failure faults are drawn only with their flags: without
        // them every seed's schedule stays as it was.
        var kinds = Array(0..<9)
        if options.switchovers { kinds.append(9) }
        if options.logFailures { kinds.append(10) }
        if options.diskFulls { kinds.append(14) }
        if options.terminations { kinds.append(11) }
        if options.strayFences { kinds.append(12) }
        if options.forcedPromotions { kinds.append(13) }
        switch kinds[random.index(kinds.count)] {
        case 0, 1:
            let process = servers[random.index(3)]
            guard processUp[process] else { return }
            // Now and then the standby loses its disk and comes back empty (re-seeded) — one
            // that holds nothing the primary lacks: a disk holding the only copy of an async
            // write loses it, which no protocol can report.
            let wipe = options.diskLoss && process != Self.witnessIndex && nodes[process].coordinator.role == .standby
                && nodes[1 - process].coordinator.role == .primary
                && nodes[process].log == Array(nodes[1 - process].log.prefix(nodes[process].log.count))
                && witness.persistedRecord != nil && random.index(4) == 0
            // With --disk-loss the witness, too, now and then comes back without its record —
            // one failure at a time: only while both nodes hold the cluster identity (a node
            // emptied as well would be a second disk lost; see docs/failover.md).
            let wipeWitness = options.diskLoss && process == Self.witnessIndex && nodes.allSatisfy { $0.persistedClusterID != nil }
                && random.index(4) == 0
            crash(process)
            if wipeWitness {
                note("witness loses its disk")
                witness.persistedRecord = nil
                checker.witnessLostItsRecord()
            }
            let restartAfter = random.int(in: 50_000...3_000_000)
            schedule(.restart(process: process), afterMicroseconds: restartAfter)
            if wipe {
                note("\(processName(process)) loses its disk")
                nodes[process].wipeDisk()
                // The worst moment follows (issue 9's reproduction): the primary dies while
                // the emptied standby is catching up.
                let primaryCrash = restartAfter + random.int(in: 20_000...600_000)
                schedule(.crash(process: 1 - process), afterMicroseconds: primaryCrash)
                schedule(.restart(process: 1 - process), afterMicroseconds: primaryCrash + random.int(in: 500_000...3_000_000))
            }
        case 2:
            let process = servers[random.index(3)]
            // Now and then longer than the failure timeout: the paused primary wakes up deposed.
            schedule(.pause(process: process, microseconds: random.int(in: 10_000...2_500_000)), afterMicroseconds: 0)
        case 3, 4:
            let a = servers[random.index(3)]
            let b = servers.filter { $0 != a }[random.index(2)]
            let duration = random.int(in: 50_000...4_000_000)
            note("partition \(processName(a)) <-> \(processName(b)) for \(duration / 1_000) ms")
            block(from: a, to: b, for: duration)
            block(from: b, to: a, for: duration)
        case 5:
            let a = servers[random.index(3)]
            let b = servers.filter { $0 != a }[random.index(2)]
            let duration = random.int(in: 50_000...4_000_000)
            note("one-way partition \(processName(a)) -> \(processName(b)) for \(duration / 1_000) ms")
            block(from: a, to: b, for: duration)
        case 6:
            // A node cut off from the other node and the witness, still reachable by clients.
            let node = random.index(2)
            let duration = random.int(in: 200_000...4_000_000)
            note("\(processName(node)) isolated from the cluster for \(duration / 1_000) ms")
            for other in servers where other != node {
                block(from: node, to: other, for: duration)
                block(from: other, to: node, for: duration)
            }
        case 7:
            let open = connections.keys.sorted().filter { connections[$0]?.open == true }
            guard !open.isEmpty else { return }
            let id = open[random.index(open.count)]
            note("connection \(id) reset")
            statistics.connectionsReset += 1
            reset(connection: id)
        case 10:
            let process = random.index(2)
            guard processUp[process], !nodes[process].logBroken else { return }
            note("\(processName(process))'s log fails (fdatasync)")
            nodes[process].logFailed()
            // An operator restarts the node later (the sim's disk works again).
            let after = random.int(in: 300_000...3_000_000)
            schedule(.crash(process: process), afterMicroseconds: after)
            schedule(.restart(process: process), afterMicroseconds: after + random.int(in: 50_000...500_000))
        case 14:
            fillDisk(of: random.index(2))
        case 11:
            let process = random.index(2)
            guard processUp[process] else { return }
            note("SIGTERM to \(processName(process))")
            schedule(.terminate(process: process), afterMicroseconds: 0)
        case 12:
            // A stray client (a script, a mistyped port) sends FENCE: it may demote, never promote.
            let target = random.index(2)
            let names = [nodes[0].name, nodes[1].name, "10.9.9.9:7000"]
            let named = names[random.index(names.count)]
            let epoch = Epoch(nodes[target].node.epoch.rawValue + UInt64(random.index(3)))
            let cluster = random.index(4) == 0 ? "another-cluster" : nodes[target].persistedClusterID ?? "-"
            let client = Self.firstClientIndex + random.index(clients.count)
            note("stray FENCE \(epoch) \(named) to \(processName(target))")
            statistics.strayFences += 1
            sendDatagram(from: client, to: target, .fence(epoch: epoch, primary: named, clusterID: cluster))
        case 13:
            // The runbook's override: the primary died, and the operator forces the standby
            // rather than wait (it may also be ineligible); the old primary comes back later.
            guard let standby = nodes.first(where: { processUp[$0.index] && $0.coordinator.role == .standby }) else { return }
            let primary = 1 - standby.index
            crash(primary)
            let forceAfter = random.int(in: 10_000...1_000_000)
            note("operator: PROMOTE FORCE on \(standby.name) in \(forceAfter / 1_000) ms")
            schedule(.forcePromotion(process: standby.index), afterMicroseconds: forceAfter)
            schedule(.restart(process: primary), afterMicroseconds: forceAfter + random.int(in: 500_000...4_000_000))
        case 9:
            // The operator asks the node that says it is primary (as `understudy switchover` finds it).
            guard let primary = nodes.first(where: { processUp[$0.index] && $0.coordinator.role == .primary }) else { return }
            note("operator: switchover on \(primary.name)")
            schedule(.switchover(process: primary.index), afterMicroseconds: 0)
        default:
            var newWeather = NetworkWeather()
            newWeather.dropPerMillion = random.int(in: 0...100_000)
            newWeather.duplicatePerMillion = random.int(in: 0...50_000)
            newWeather.resetPerMillion = random.int(in: 0...2_000)
            newWeather.minDelayMicroseconds = random.int(in: 50...2_000)
            newWeather.maxDelayMicroseconds = newWeather.minDelayMicroseconds + random.int(in: 0...20_000)
            newWeather.spikePerMillion = random.int(in: 0...50_000)
            newWeather.spikeMaxMicroseconds = random.int(in: 20_000...300_000)
            note("network weather: drop \(newWeather.dropPerMillion / 10_000)%, duplicate \(newWeather.duplicatePerMillion / 10_000)%, delay \(newWeather.minDelayMicroseconds)...\(newWeather.maxDelayMicroseconds) us")
            weather = newWeather
            schedule(.weather(.calm), afterMicroseconds: random.int(in: 500_000...5_000_000))
        }
    }

    private func block(from: Int, to: Int, for duration: Int64) {
        partitions.block(from: from, to: to)
        schedule(.unblock(from: from, to: to), afterMicroseconds: duration)
    }

    func crash(_ process: Int) {
        guard processUp[process] else { return }
        note("\(processName(process)) crashes")
        if process != Self.witnessIndex { checker.nodeCrashed(nodes[process]) }
        statistics.crashes += 1
        processUp[process] = false
        incarnations[process] += 1
        pausedUntil[process] = nil
        closeConnections(of: process)
    }

    func restart(_ process: Int) {
        guard !processUp[process] else { return }
        processUp[process] = true
        note("\(processName(process)) restarts")
        if process == Self.witnessIndex {
            witness.restart()
            return
        }
        nodes[process].start()
        schedule(.tick(process: process, incarnation: incarnations[process]), afterMicroseconds: random.int(in: 0...Self.tickMicroseconds))
    }

    private func heal() {
        phase = .healing
        note("heal: partitions lifted, crashed processes restart, paused ones resume, the network calms")
        checker.healedAt = now
        partitions.healAll()
        weather = .calm
        for process in [0, 1, Self.witnessIndex] {
            if let until = pausedUntil[process], until > now { pausedUntil[process] = now }
            restart(process)
        }
    }

    /// `--disk-full`: the node's next write finds no space; space returns 0.1–2 s later. A
    /// standby's full disk is fatal (the node says so), and an operator restarts it later.
    private func fillDisk(of process: Int) {
        guard processUp[process], !nodes[process].logBroken, nodes[process].node.diskFull == nil else { return }
        note("\(processName(process))'s disk is full")
        statistics.diskFulls += 1
        nodes[process].diskFilled()
        if nodes[process].node.diskFull != nil {
            schedule(.diskSpaceReturned(process: process, incarnation: incarnations[process]),
                     afterMicroseconds: random.int(in: 100_000...2_000_000))
        } else {
            let after = random.int(in: 300_000...3_000_000)
            schedule(.crash(process: process), afterMicroseconds: after)
            schedule(.restart(process: process), afterMicroseconds: after + random.int(in: 50_000...500_000))
        }
    }
}
