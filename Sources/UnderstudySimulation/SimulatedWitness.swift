import UnderstudyCore

/// The witness process: the real `Witness`, whose `persist` is made durable before the
/// reply leaves. A crash keeps only the persisted record.
final class SimulatedWitness {
    let nodes: [String]
    unowned let simulation: Simulation
    var witness: Witness
    /// What is on the witness's disk.
    var persistedRecord: WitnessRecord?

    init(nodes: [String], simulation: Simulation) {
        self.nodes = nodes
        self.simulation = simulation
        witness = Witness(nodes: nodes, record: nil, nowMilliseconds: simulation.localNow(Simulation.witnessIndex),
                          newClusterID: Self.clusterID(seed: simulation.options.seed))
    }

    /// The identity a simulated cluster gets: from the seed, not from ambient randomness.
    static func clusterID(seed: UInt64) -> String {
        ClusterIdentity.make(seed, 0x5EED)
    }

    func restart() {
        witness = Witness(nodes: nodes, record: persistedRecord, nowMilliseconds: simulation.localNow(Simulation.witnessIndex),
                          newClusterID: Self.clusterID(seed: simulation.options.seed))
    }

    /// Seen from outside: the candidate holds every record still on the old primary's disk
    /// (it came back short: a machine crash took what it had not synced), so promoting it
    /// loses nothing that still exists anywhere.
    private func holdsAllThatIsLeft(_ candidate: String, durableLSN: LSN, of previous: WitnessRecord) -> Bool {
        guard let old = simulation.nodes.first(where: { $0.name == previous.primary }),
              let new = simulation.nodes.first(where: { $0.name == candidate }),
              old.durableCount <= Int(durableLSN.rawValue), old.durableCount <= new.log.count else { return false }
        return old.log.prefix(old.durableCount).elementsEqual(new.log.prefix(old.durableCount))
    }

    func receive(_ message: SimulatedMessage, from sender: Int) {
        guard case .witnessRequest(let id, let request) = message else { return }
        let before = (record: witness.record, report: witness.lastReport, lostDisk: witness.primaryLostItsDiskInEpoch)
        let response = witness.handle(request, nowMilliseconds: simulation.localNow(Simulation.witnessIndex))
        if case .vote(let node, _, let durableLSN, let maxLag, _, _) = request, let granted = response.persist, granted.primary == node,
           let previous = before.record, previous.primary != node, before.lostDisk != previous.epoch {
            simulation.checker.failedOver(to: node, durableLSN: durableLSN, maxLagBytes: maxLag, from: previous,
                                          report: before.report, holdsAllThatIsLeft: holdsAllThatIsLeft(node, durableLSN: durableLSN, of: previous),
                                          simulation: simulation)
        }
        if case .force(let node, _) = request, response.persist?.primary == node {
            // The witness recorded the forced promotion: what it may lose is lost from now
            // on, whether or not the node hears the answer.
            simulation.checker.forcedPromotionTookOver(simulation)
        }
        if let record = response.persist {
            if record.epoch != persistedRecord?.epoch || record.primary != persistedRecord?.primary {
                simulation.note("witness records epoch \(record.epoch): primary \(record.primary ?? "-"), in sync \(record.standbyInSync)")
            }
            simulation.checker.witnessPersisted(record, simulation: simulation)
            persistedRecord = record
        }
        simulation.sendDatagram(from: Simulation.witnessIndex, to: sender, .witnessReply(id: id, response.reply))
    }
}
