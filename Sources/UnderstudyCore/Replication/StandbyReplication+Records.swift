/// The checks on a received batch, made before anything changes: a batch is taken whole
/// (minus leading duplicates) or refused whole.
extension StandbyReplication {
    struct Refusal: Error {
        var reason: String
    }

    struct BatchPlan {
        var decisions: [StandbyDecision]
        var history: EpochHistory
    }

    func plan(_ headers: [RecordHeader], streamEpoch: Epoch) -> Result<BatchPlan, Refusal> {
        var index = 0
        // Leading duplicates: frames we already hold. Checked against what we know of them.
        while index < headers.count, headers[index].lsn <= lastLSN {
            if let problem = duplicateProblem(headers[index]) { return .failure(Refusal(reason: problem)) }
            index += 1
        }
        var history = self.history
        var decisions: [StandbyDecision] = []
        var runStart = index
        var expected = lastLSN.next
        for position in index..<headers.count {
            let header = headers[position]
            if let problem = sequenceProblem(header, expected: expected, streamEpoch: streamEpoch, history: history) {
                return .failure(Refusal(reason: problem))
            }
            if header.epoch > history.currentEpoch {
                if runStart < position { decisions.append(.append(range: runStart..<position)) }
                decisions.append(.adoptEpoch(header.epoch, at: header.lsn))
                history.begin(epoch: header.epoch, at: header.lsn)
                runStart = position
            }
            expected = expected.next
        }
        if runStart < headers.count { decisions.append(.append(range: runStart..<headers.count)) }
        return .success(BatchPlan(decisions: decisions, history: history))
    }

    /// Why a frame we already hold contradicts our log, if it does.
    private func duplicateProblem(_ header: RecordHeader) -> String? {
        guard header.lsn != .zero else { return "a record has LSN 0" }
        if header.lsn == lastLSN, let ours = lastRecordChecksum, ours != header.checksum {
            return "record \(header.lsn) differs: checksum \(header.checksum) from the primary, \(ours) here"
        }
        if let ours = history.epoch(at: header.lsn), ours != header.epoch {
            return "record \(header.lsn) is from epoch \(header.epoch) on the primary, epoch \(ours) here"
        }
        return nil
    }

    /// Why a new frame cannot follow the previous one, if it cannot.
    private func sequenceProblem(_ header: RecordHeader, expected: LSN, streamEpoch: Epoch, history: EpochHistory) -> String? {
        if header.lsn > expected { return "gap: expected LSN \(expected), received \(header.lsn)" }
        if header.lsn < expected { return "out of order: expected LSN \(expected), received \(header.lsn)" }
        if header.byteCount < 0 { return "record \(header.lsn) has a negative length" }
        if header.epoch > streamEpoch {
            return "record \(header.lsn) is from epoch \(header.epoch), beyond the primary's epoch \(streamEpoch)"
        }
        if header.epoch < history.currentEpoch {
            if let covering = history.epoch(at: header.lsn), header.epoch < covering {
                return "record \(header.lsn) is from epoch \(header.epoch), lower than this node's epoch \(covering)"
            }
            return "record \(header.lsn) in epoch \(header.epoch) conflicts with the epoch history \(history)"
        }
        if header.lsn < history.lastEntry.firstLSN {
            return "record \(header.lsn) in epoch \(header.epoch) conflicts with the epoch history \(history)"
        }
        return nil
    }
}
