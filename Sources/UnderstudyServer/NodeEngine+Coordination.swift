import Logging
import UnderstudyClient
import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

#if canImport(Glibc)
import Glibc
#endif

/// Automatic failover's I/O: the witness link, FENCE to and from the peer, and the rewind
/// of a divergent suffix. `DataNode` decides; this carries it out.
extension NodeEngine {
    /// The name this node goes by with the witness and its peer: its `--listen` address.
    var nodeName: String { "\(configuration.host):\(listeningPort)" }

    /// On the first tick (the bound port is known by then): the node learns its name and
    /// its persisted cluster identity; with a witness, the witness link opens.
    private func startIfNeeded(now: Int64) {
        guard !replication.started, walFailure == nil else { return }
        replication.started = true
        var clusterID: String?
        var knownEpoch = Epoch.initial
        if replication.configuration?.witness != nil {
            do {
                clusterID = try DurableStateFile.clusterIdentity.read(
                    dataDirectory: configuration.dataDirectory).map { String(decoding: $0, as: UTF8.self) }
                if let bytes = try DurableStateFile.knownEpoch.read(dataDirectory: configuration.dataDirectory) {
                    guard let value = UInt64(String(decoding: bytes, as: UTF8.self)), value >= 1 else {
                        throw StorageError(.corruptEpochHistory, "the known epoch file (\(DurableStateFile.knownEpoch.path(dataDirectory: configuration.dataDirectory))) holds no epoch")
                    }
                    knownEpoch = Epoch(value)
                }
            } catch {
                failWAL("cannot read the cluster identity or the known epoch: \(error)")
                return
            }
        }
        node.started(node: nodeName, clusterID: clusterID, knownEpoch: knownEpoch, nowMilliseconds: now)
        guard let replicationConfiguration = replication.configuration, let witness = replicationConfiguration.witness else { return }
        replication.witnessLink = WitnessLink(
            address: witness, eventLoop: eventLoop, logger: logger,
            requestTimeoutMilliseconds: replicationConfiguration.failureTimeoutMilliseconds, tls: configuration.tls?.linkTLS,
            authentication: { [unowned self] in self.peerAuthenticationHandler(for: .witness) }
        ) { [unowned self] request, result, sentAt in
            self.witnessReplied(request, result: result, sentAt: sentAt)
        }
        logger.info("automatic failover on: asking the witness for this node's role", metadata: [
            "node": "\(nodeName)", "witness": "\(witness)", "epoch": "\(epoch)",
        ])
    }

    /// Every heartbeat interval.
    func replicationTick() {
        let now = WallClock.monotonicMilliseconds()
        startIfNeeded(now: now)
        guard replication.started else { return }
        replication.witnessLink?.checkTimeouts(nowMilliseconds: now)
        perform(node.tick(nowMilliseconds: now))
        updateMetricGauges()
    }

    /// Whether this node may acknowledge a write or serve a read now. Always true without a witness.
    func holdsLease() -> Bool {
        node.mayAcknowledge(nowMilliseconds: WallClock.monotonicMilliseconds())
    }

    // MARK: The witness

    func askWitness(_ request: WitnessRequest) {
        let now = WallClock.monotonicMilliseconds()
        if case .vote(_, let asked, _, _, _, _) = request, replication.pendingVoteSinceMilliseconds == nil {
            replication.pendingVoteSinceMilliseconds = now
            logger.warning(node.coordinator?.role == .undecided
                ? "the witness names this node primary: asking for a new epoch rather than resuming the old one"
                : "asking the witness to promote this node", metadata: [
                    "epoch": "\(asked)", "durable_lsn": "\(durableLSN)",
                ])
        }
        replication.witnessLink?.send(request, nowMilliseconds: now)
    }

    private func witnessReplied(_ request: WitnessRequest, result: Result<WitnessReply, WitnessLinkError>, sentAt: Int64) {
        let now = WallClock.monotonicMilliseconds()
        switch result {
        case .success(let reply):
            perform(node.witnessAnswered(request, reply: reply, sentAtMilliseconds: sentAt, nowMilliseconds: now))
        case .failure(let error):
            perform(node.witnessUnreachable(request, error: "\(error)", mayHaveArrived: error.mayHaveArrived, nowMilliseconds: now))
        }
    }

    static func isConnectionRefused(_ error: any Error) -> Bool {
        if let connection = error as? NIOConnectionError {
            return connection.connectionErrors.contains { isConnectionRefused($0.error) }
        }
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        return false
    }

    // MARK: Fencing through the peer

    /// `FENCE <epoch> <primary> <cluster> [<forced-from-epoch>]`: the peer is primary of
    /// `epoch` (forced without the witness, knowing `forced-from-epoch`, if that is given).
    /// The node decides; FENCE can only demote, and only from the peer of this cluster.
    func fence(_ arguments: [[UInt8]]) -> Reply {
        guard arguments.count <= 5 else {
            return .error("ERR wrong number of arguments for 'fence' command")
        }
        guard let seen = UInt64(String(decoding: arguments[1], as: UTF8.self)) else {
            return .error("ERR FENCE epoch must be a number")
        }
        var forcedFrom: Epoch?
        if arguments.count == 5 {
            guard let base = UInt64(String(decoding: arguments[4], as: UTF8.self)) else {
                return .error("ERR FENCE forced-from epoch must be a number")
            }
            forcedFrom = Epoch(base)
        }
        let primary = String(decoding: arguments[2], as: UTF8.self)
        let clusterID = String(decoding: arguments[3], as: UTF8.self)
        switch node.fenced(epoch: Epoch(seen), by: primary, clusterID: clusterID, forcedFrom: forcedFrom,
                           nowMilliseconds: WallClock.monotonicMilliseconds()) {
        case .success(let actions):
            perform(actions)
            return .simple("OK \(node.knownEpoch)")
        case .failure(let refusal):
            logger.warning("refused a FENCE", metadata: ["epoch": "\(seen)", "primary": "\(primary)", "reason": "\(refusal)"])
            return .error(Self.text(of: refusal))
        }
    }

    /// The RESP text of a refused FENCE.
    private static func text(of refusal: FenceRefusal) -> String {
        switch refusal {
        case .notCoordinated: return "ERR this node has no --witness: it takes its role from --role"
        case .foreignCluster: return "ERR FENCE refused: it does not carry this node's cluster identity"
        case .notThePeer: return "ERR FENCE refused: only this node's peer can fence it, and never into primary"
        case .notPrimary(let epoch): return "ERR FENCE refused: this node is not a primary (epoch \(epoch)); FENCE only demotes"
        case .notNewer(let epoch): return "\(Self.notNewerPrefix)\(epoch), not older"
        case .implausible(let epoch): return "ERR FENCE refused: epoch \(epoch) is beyond any a cluster reaches (\(Epoch.highestPlausible))"
        case .holdsLease(let epoch):
            return "ERR FENCE refused: this node is primary of epoch \(epoch) and holds its lease, so no newer epoch was granted; the witness decides"
        case .madeAfterTheForcedEpoch(let epoch, let forcedFrom):
            return "ERR FENCE refused: this node was made primary of epoch \(epoch) after the epoch \(forcedFrom) the sender was forced from; the witness decides"
        }
    }

    private static let notNewerPrefix = "ERR FENCE refused: this node is primary of epoch "

    /// Sends the peer `FENCE`; a refusal saying the peer is primary of an epoch not older
    /// goes back to the node.
    func fencePeer(epoch fenceEpoch: Epoch, clusterID: String, forcedFrom: Epoch?) {
        guard let peer = replication.configuration?.peer else { return }
        let words = ["FENCE", "\(fenceEpoch)", nodeName, clusterID] + (forcedFrom.map { ["\($0)"] } ?? [])
        let command = Command(arguments: words.map { Array($0.utf8) })
        let logger = self.logger
        let metrics = self.metrics
        let loop = eventLoop
        let handshake = fenceHandshake()
        let tls = configuration.tls?.linkTLS
        let password = peerPassword
        Task {
            let replies: [Reply]
            do {
                replies = try await NodeRequest.send([command], to: peer, timeoutMilliseconds: 500, tls: tls, password: password,
                                                     prologue: handshake)
            } catch let error as UnderstudyClientError where error.code == .unexpectedReply && handshake != nil {
                metrics.refused(.peerAuth)
                logger.warning("the peer did not authenticate; FENCE not sent", metadata: ["peer": "\(peer)", "error": "\(error)"])
                return
            } catch {
                // The peer is down or unreachable: it learns the epoch when it comes back.
                logger.debug("cannot tell the peer this node's epoch", metadata: ["peer": "\(peer)", "error": "\(error)"])
                return
            }
            guard case .error(let message)? = replies.first, message.hasPrefix(Self.notNewerPrefix),
                  let peerEpoch = UInt64(message.dropFirst(Self.notNewerPrefix.count).prefix { $0.isNumber }) else { return }
            loop.execute {
                self.perform(self.node.peerIsPrimary(ofEpoch: Epoch(peerEpoch), nowMilliseconds: WallClock.monotonicMilliseconds()))
            }
        }
    }

    // MARK: Forced promotion

    /// `PROMOTE FORCE`: the node decides whether and when; `completion` runs once.
    func forcePromotion(timeoutMilliseconds: Int64, completion: @escaping (Result<String, HandoverError>) -> Void) {
        switch node.forcePromotion(timeoutMilliseconds: timeoutMilliseconds, nowMilliseconds: WallClock.monotonicMilliseconds()) {
        case .failure(let refusal):
            completion(.failure(HandoverError(message: refusal.message)))
        case .success(let actions):
            replication.forceCompletion = completion
            perform(actions)
        }
    }

    // MARK: Rejoin

    /// `.cutLog`: cuts this node's records after the fork point into a lost-writes file
    /// (durable before the cut, never silent), recovers the log, and tells the node.
    func rewind(keepThrough forkPoint: LSN, primaryEpoch: Epoch) {
        flush()
        let directory = configuration.dataDirectory
        let recovered: RecoveredState
        let report: RewindReport
        do {
            wal.close()
            report = try WALRewind.cutSuffix(
                dataDirectory: directory, keepThrough: forkPoint, cutByEpoch: primaryEpoch,
                nowUnixMilliseconds: WallClock.nowMilliseconds())
            recovered = try Recovery.recover(dataDirectory: directory, logger: logger)
            wal = try WALWriter.open(
                dataDirectory: directory, after: recovered,
                configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
        } catch {
            logger.critical("rewind failed; this node refuses to replicate until restarted", metadata: ["error": "\(error)"])
            perform(node.rewindFailed("\(error)"))
            return
        }
        keyspace = recovered.keyspace
        keyspace.deletesExpiredKeys = false
        durableLSN = recovered.lastLSN
        replication.bytesReportedWritten = wal.totalBytesWritten
        replication.lastRewind = report
        statistics.rewoundRecords += Int64(report.recordCount)
        metrics.writesLost(report.recordCount)
        logger.critical("cut off this node's divergent records: they were never on the new primary", metadata: [
            "records": "\(report.recordCount)", "first_lsn": "\(report.firstLSN.map { "\($0)" } ?? "-")",
            "last_lsn": "\(report.lastLSN.map { "\($0)" } ?? "-")", "file": "\(report.path ?? "-")",
            "fork_lsn": "\(forkPoint)", "state_reset": "\(report.stateReset)",
            "set_aside_in": "\(report.discardedPath ?? "-")",
            "only_in_set_aside_snapshot": "\(report.snapshotOnlyLSNs.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "-")",
        ])
        record(NodeEvent(.lostWrites, epoch: primaryEpoch, reason: report.recordCount == 0
            ? "rejoined: nothing to cut off after LSN \(forkPoint)"
            : "rejoined after a failover: \(report.recordCount) records this node had were never on the new primary; kept in \(report.path ?? "?")", [
                "records": "\(report.recordCount)", "first_lsn": report.firstLSN.map { "\($0)" } ?? "",
                "last_lsn": report.lastLSN.map { "\($0)" } ?? "", "file": report.path ?? "", "fork_lsn": "\(forkPoint)",
            ]))
        perform(node.logReplaced(
            lastLSN: recovered.lastLSN, lastRecordChecksum: recovered.lastRecordChecksum,
            nowMilliseconds: WallClock.monotonicMilliseconds()))
    }
}
