import Logging
import NIOCore
import NIOPosix
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// The standby's side of replication: connect to the primary, hand the stream to
/// `StandbyReplication`, append what it accepts byte for byte, acknowledge what is durable.
extension NodeEngine {
    /// Every heartbeat interval: (re)connect to the primary when there is no link.
    func standbyTick() {
        guard replication.role == .standby, replication.standby != nil, replication.primaryChannel == nil, !replication.connecting,
              !isStopping, WallClock.monotonicMilliseconds() >= replication.nextConnectAtMilliseconds,
              let peer = replication.configuration?.peer
        else { return }
        replication.connecting = true
        let engine = self
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(StandbyLinkDecoder()),
                        StandbyLinkHandler(engine: engine))
                }
            }
            .connect(host: peer.host, port: peer.port)
            .whenComplete { result in
                engine.replication.connecting = false
                if case .failure(let error) = result {
                    engine.primaryConnectFailed(error)
                    engine.primaryLinkFailed("cannot connect to the primary at \(peer): \(error)")
                }
            }
    }

    /// The link is up: the handshake to send.
    func primaryLinkOpened(_ channel: any Channel) -> Command? {
        guard var standby = replication.standby else { return nil }
        replication.primaryChannel = channel
        replication.linkStatus = "handshake"
        let handshake = standby.handshake(address: "\(configuration.host):\(listeningPort)", clusterID: replication.coordinator?.clusterID)
        replication.standby = standby
        return Command(arguments: handshake.arguments)
    }

    /// The primary's answer to REPLICATE.
    func primaryAnsweredHandshake(_ reply: Reply) {
        guard var standby = replication.standby, let channel = replication.primaryChannel else { return }
        let answer: HandshakeAnswer
        do {
            switch reply {
            case .simple(let line): answer = try HandshakeAnswer(line: line, isError: false)
            case .error(let line): answer = try HandshakeAnswer(line: line, isError: true)
            default: answer = .refused("unexpected reply \(reply)")
            }
        } catch {
            answer = .refused("\(error)")
        }
        switch answer {
        case .stream(let epoch, let from, let clusterID):
            guard followsPrimary(ofCluster: clusterID, channel: channel) else { return }
            let action = standby.streamAccepted(epoch: epoch, from: from)
            replication.standby = standby
            replication.linkStatus = "connected"
            replication.lastRefusal = nil
            replication.reconnectDelayMilliseconds = 100
            logger.info("streaming from the primary", metadata: ["from_lsn": "\(from)", "epoch": "\(epoch)"])
            perform(action)
        case .snapshot(let epoch, let lsn, let bytes, let snapshotEpoch, let history, let clusterID):
            guard followsPrimary(ofCluster: clusterID, channel: channel) else { return }
            beginSnapshot(primaryEpoch: epoch, lsn: lsn, bytes: bytes, snapshotEpoch: snapshotEpoch, history: history)
        case .diverged(let history, let clusterID, _):
            replication.lastRefusal = answer.line.text
            if rewindIfDiverged(primaryHistory: history, clusterID: clusterID) { return }
            logger.error("the primary refused this standby: its log diverged; nothing conflicting is applied", metadata: [
                "reason": "\(answer.line.text)",
            ])
            replication.linkStatus = "diverged"
            channel.close(promise: nil)
        case .refused(let text):
            replication.lastRefusal = text
            logger.warning("the primary refused the stream", metadata: ["reason": "\(text)"])
            channel.close(promise: nil)
        }
    }

    /// Whether this standby may follow a primary of cluster `clusterID` (the coordinator
    /// decides; a node without an identity learns and persists the primary's). If not, the
    /// link is closed.
    private func followsPrimary(ofCluster clusterID: String?, channel: any Channel) -> Bool {
        guard replication.coordinator != nil else { return true }
        if let refusal = replication.coordinator!.primaryStreams(clusterID: clusterID) {
            logger.error("not following a primary of another cluster", metadata: ["reason": "\(refusal)"])
            replication.lastRefusal = refusal
            channel.close(promise: nil)
            return false
        }
        return persistClusterIdentityIfLearned()
    }

    /// A frame from the primary.
    func primarySent(_ frame: ReplicationFrame) {
        guard replication.standby != nil else { return }
        switch frame {
        case .records(_, let compressed, let rawBytes, let payload):
            let frames: [UInt8]
            do {
                frames = compressed ? try payload.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: rawBytes) } : payload
            } catch {
                primaryLinkFailed("a records frame does not decompress: \(error)")
                return
            }
            applyRecords(frames)
        case .heartbeat(let epoch, let lastWrittenLSN, let primaryTime, let sentAt, let lease):
            echoPrimaryHeartbeat(epoch: epoch, sentAt: sentAt, primaryLeaseMilliseconds: lease)
            // In place (`standby!`): a copy would duplicate its lag samples on every event.
            let action = replication.standby!.primaryHeartbeat(
                epoch: epoch, lastWrittenLSN: lastWrittenLSN, primaryTimeMilliseconds: primaryTime,
                nowMilliseconds: WallClock.monotonicMilliseconds())
            perform(action)
        case .error(_, let message):
            primaryLinkFailed("the primary ended the stream: \(message)")
        case .snapshotChunk(_, _, let bytes):
            do {
                guard let receiver = replication.snapshotReceiver else { throw StorageError(.invalidState, "no snapshot announced") }
                try receiver.receive(bytes)
            } catch {
                abortSnapshot("snapshot transfer failed: \(error)")
            }
        case .snapshotEnd(_, _, let checksum):
            installSnapshot(checksum: checksum)
        case .handover(_, let newEpoch):
            guard replication.coordinator != nil else { return }
            logger.notice("the primary hands over: taking the next epoch", metadata: ["epoch": "\(newEpoch)"])
            performCoordination(replication.coordinator!.handoverOffered(
                epoch: newEpoch, durableLSN: durableLSN, nowMilliseconds: WallClock.monotonicMilliseconds()))
        case .acknowledge, .heartbeatEcho:
            primaryLinkFailed("unexpected frame from the primary")
        }
    }

    /// `+SNAPSHOT …`: the primary no longer has the WAL this standby needs; its snapshot follows.
    private func beginSnapshot(primaryEpoch: Epoch, lsn: LSN, bytes: Int64, snapshotEpoch: Epoch, history: EpochHistory) {
        do {
            replication.snapshotReceiver = try SnapshotReceiver(
                dataDirectory: configuration.dataDirectory, expectedLSN: lsn, totalBytes: bytes)
            replication.incomingSnapshot = (lsn, snapshotEpoch, primaryEpoch, history)
            replication.linkStatus = "snapshot"
            logger.info("receiving a snapshot from the primary", metadata: ["lsn": "\(lsn)", "bytes": "\(bytes)"])
        } catch {
            abortSnapshot("cannot start receiving the snapshot: \(error)")
        }
    }

    /// The whole snapshot arrived: verify and install it (the old WAL is set aside, never
    /// deleted), reopen the log after it, then stream from the next LSN.
    private func installSnapshot(checksum: UInt32) {
        guard let receiver = replication.snapshotReceiver, let incoming = replication.incomingSnapshot,
              var standby = replication.standby else {
            primaryLinkFailed("a snapshot ended that was never announced")
            return
        }
        replication.snapshotReceiver = nil
        replication.incomingSnapshot = nil
        do {
            wal.close()
            let installation = try receiver.finish(expectedChecksum: checksum, logger: logger)
            wal = try WALWriter.open(
                dataDirectory: configuration.dataDirectory, after: installation.state,
                configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
            try standby.snapshotInstalled(lsn: incoming.lsn, epoch: incoming.epoch, history: incoming.history)
            replication.history = standby.history
            try DurableStateFile.epochHistory.write(replication.history.encode(), dataDirectory: configuration.dataDirectory)
            keyspace = installation.state.keyspace
            keyspace.deletesExpiredKeys = false
            durableLSN = max(durableLSN, incoming.lsn)
            restartGate(at: max(visibleLSN, incoming.lsn))
            logger.warning("installed the primary's snapshot", metadata: [
                "lsn": "\(incoming.lsn)", "keys": "\(keyspace.count)",
                "previous_log_moved_to": "\(installation.discardedPath ?? "(none)")",
            ])
        } catch {
            logger.critical("snapshot install failed; restart this standby", metadata: ["error": "\(error)"])
            primaryLinkFailed("snapshot install failed: \(error)")
            return
        }
        let action = standby.streamAccepted(epoch: incoming.primaryEpoch, from: incoming.lsn.next)
        replication.standby = standby
        replication.linkStatus = "connected"
        replication.reconnectDelayMilliseconds = 100
        perform(action)
    }

    private func abortSnapshot(_ reason: String) {
        primaryLinkFailed(reason)
    }

    private func applyRecords(_ frames: [UInt8]) {
        guard replication.standby != nil else { return }
        let records: [WALRecord]
        do {
            records = try WALFormat.decodeFrames(frames)
        } catch {
            primaryLinkFailed("records from the primary do not decode: \(error)")
            return
        }
        let headers = records.map {
            RecordHeader(epoch: $0.epoch, lsn: $0.lsn, checksum: $0.checksum, byteCount: $0.frameBytes.count)
        }
        let decisions = replication.standby!.receivedRecords(headers)
        for decision in decisions {
            switch decision {
            case .adoptEpoch(let newEpoch, let firstLSN):
                do {
                    replication.history.begin(epoch: newEpoch, at: firstLSN)
                    try DurableStateFile.epochHistory.write(replication.history.encode(), dataDirectory: configuration.dataDirectory)
                } catch {
                    primaryLinkFailed("cannot persist epoch \(newEpoch): \(error)")
                    return
                }
            case .append(let range):
                guard !range.isEmpty else { continue }
                let bytes = Array(frames[records[range.lowerBound].frameBytes.lowerBound..<records[range.upperBound - 1].frameBytes.upperBound])
                do {
                    try wal.appendFrames(bytes)
                } catch {
                    primaryLinkFailed("cannot append the primary's records: \(error)")
                    return
                }
                for record in records[range] { keyspace.apply(record.effects) }
                statistics.walRecordsAppended += Int64(range.count)
                scheduleFlush()
            case .refuse(let reason):
                logger.error("refused records from the primary", metadata: ["reason": "\(reason)"])
                replication.lastRefusal = reason
                primaryLinkFailed(reason)
                return
            }
        }
    }

    /// Records up to `lsn` are on this standby's disk.
    func standbyDurable(_ lsn: LSN) {
        guard let lastLSN = replication.standby?.lastLSN, lsn <= lastLSN else { return }
        perform(replication.standby!.localDurable(lsn))
    }

    private func perform(_ action: StandbyAction?) {
        guard let action else { return }
        switch action {
        case .acknowledge(let durable, let ackEpoch):
            guard let channel = replication.primaryChannel, let applied = replication.standby?.lastLSN else { return }
            var buffer = channel.allocator.buffer(capacity: 32)
            buffer.writeReplicationFrame(.acknowledge(epoch: ackEpoch, durableLSN: durable, appliedLSN: applied))
            channel.writeAndFlush(buffer, promise: nil)
            perform(replication.standby!.acknowledgementSent())
        case .disconnect(let reason):
            primaryLinkFailed(reason)
        }
    }

    /// Drops the link (if any) and schedules a reconnect with backoff.
    func primaryLinkFailed(_ reason: String) {
        if replication.linkStatus != "diverged" { replication.linkStatus = "connecting" }
        // An unfinished snapshot leaves the node as it was (the receiver removes its file).
        replication.snapshotReceiver?.abort()
        replication.snapshotReceiver = nil
        replication.incomingSnapshot = nil
        logger.warning("replication link down; reconnecting", metadata: [
            "reason": "\(reason)", "retry_in_ms": "\(replication.reconnectDelayMilliseconds)",
        ])
        replication.nextConnectAtMilliseconds = WallClock.monotonicMilliseconds() + replication.reconnectDelayMilliseconds
        replication.reconnectDelayMilliseconds = min(replication.reconnectDelayMilliseconds * 2, 2_000)
        if var standby = replication.standby {
            standby.endStream()
            replication.standby = standby
        }
        let channel = replication.primaryChannel
        replication.primaryChannel = nil
        channel?.close(promise: nil)
    }

    func primaryLinkClosed(_ channel: any Channel) {
        guard replication.primaryChannel === channel else { return }
        primaryLinkFailed("the primary closed the connection")
    }
}
