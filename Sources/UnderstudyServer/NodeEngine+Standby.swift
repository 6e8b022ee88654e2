import Logging
import NIOCore
import NIOPosix
import UnderstudyClient
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// The standby's side of replication: dial the primary, parse what it sends, append and
/// install what the node accepts byte for byte. Every decision is `DataNode`'s.
extension NodeEngine {
    /// `.connectToPrimary`.
    func connectToPrimary() {
        guard let peer = replication.configuration?.peer else { return }
        let engine = self
        let tls = configuration.tls?.linkTLS
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // TLS next to the socket, the peer handshake inside it.
                    try tls?.addHandler(to: channel, host: peer.host)
                    if let authentication = engine.peerAuthenticationHandler(for: .replication) {
                        try channel.pipeline.syncOperations.addHandler(authentication)
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(StandbyLinkDecoder(sentAuthentication: engine.peerPassword != nil)),
                        StandbyLinkHandler(engine: engine))
                }
            }
            .connect(host: peer.host, port: peer.port)
            .whenComplete { result in
                guard case .failure(let error) = result else { return }
                engine.perform(engine.node.primaryLinkFailed(
                    "cannot connect to the primary at \(peer): \(error)", refused: Self.isConnectionRefused(error),
                    nowMilliseconds: WallClock.monotonicMilliseconds()))
            }
    }

    /// The dialled link is up.
    func primaryLinkOpened(_ channel: any Channel) {
        let id = replication.makeLinkID()
        guard let actions = node.primaryLinkOpened(link: id) else {
            channel.close(promise: nil)  // dialled for nothing: the link the node has stays
            return
        }
        replication.primaryChannel = (id, channel)
        perform(actions)
    }

    /// The primary's answer to REPLICATE.
    func primaryAnsweredHandshake(_ channel: any Channel, reply: Reply) {
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
        perform(node.primaryAnswered(answer, link: replication.primaryLinkID(of: channel), nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// A frame from the primary.
    func primarySent(_ channel: any Channel, frame: ReplicationFrame) {
        let id = replication.primaryLinkID(of: channel)
        let now = WallClock.monotonicMilliseconds()
        switch frame {
        case .records(_, let compressed, let rawBytes, let payload):
            let frames: [UInt8]
            do {
                frames = compressed ? try payload.withUnsafeBytes { try LZ4Block.decompress($0, rawBytes: rawBytes) } : payload
            } catch {
                primaryLinkFailed(channel, "a records frame does not decompress: \(error)")
                return
            }
            applyRecords(frames, link: id)
        case .heartbeat(let heartbeatEpoch, let lastWrittenLSN, let primaryTime, let sentAt, let lease):
            perform(node.primaryHeartbeat(
                epoch: heartbeatEpoch, lastWrittenLSN: lastWrittenLSN, primaryTimeMilliseconds: primaryTime,
                sentAtMilliseconds: sentAt, leaseMilliseconds: lease > 0 ? lease : nil, link: id, nowMilliseconds: now))
        case .error(_, let message):
            primaryLinkFailed(channel, "the primary ended the stream: \(message)")
        case .snapshotChunk(_, _, let bytes):
            do {
                guard let receiver = replication.snapshotReceiver else { throw StorageError(.invalidState, "no snapshot announced") }
                try receiver.receive(bytes)
            } catch {
                primaryLinkFailed(channel, "snapshot transfer failed: \(error)")
            }
        case .snapshotEnd(_, _, let checksum):
            installSnapshot(channel, checksum: checksum)
        case .handover(_, let newEpoch):
            replication.handoverOfferedEpoch = newEpoch
            perform(node.handoverOffered(epoch: newEpoch, link: id, nowMilliseconds: now))
        case .acknowledge, .heartbeatEcho:
            primaryLinkFailed(channel, "unexpected frame from the primary")
        }
    }

    /// `.receiveSnapshot`: the primary no longer has the WAL this standby needs.
    func beginSnapshot(lsn: LSN, bytes: Int64) {
        do {
            replication.snapshotReceiver = try SnapshotReceiver(
                dataDirectory: configuration.dataDirectory, expectedLSN: lsn, totalBytes: bytes)
        } catch {
            perform(node.primaryLinkFailed("cannot start receiving the snapshot: \(error)", nowMilliseconds: WallClock.monotonicMilliseconds()))
        }
    }

    /// The whole snapshot arrived: verify and install it (the old WAL is set aside, never
    /// deleted), reopen the log after it, then the node streams from the next LSN.
    private func installSnapshot(_ channel: any Channel, checksum: UInt32) {
        guard let receiver = replication.snapshotReceiver else {
            primaryLinkFailed(channel, "a snapshot ended that was never announced")
            return
        }
        replication.snapshotReceiver = nil
        do {
            wal.close()
            let installation = try receiver.finish(expectedChecksum: checksum, logger: logger)
            wal = try WALWriter.open(
                dataDirectory: configuration.dataDirectory, after: installation.state,
                configuration: WALWriter.Configuration(segmentMaxBytes: configuration.walSegmentMaxBytes))
            keyspace = installation.state.keyspace
            keyspace.deletesExpiredKeys = false
            durableLSN = max(durableLSN, installation.state.lastLSN)
            replication.bytesReportedWritten = wal.totalBytesWritten
            logger.warning("installed the primary's snapshot", metadata: [
                "lsn": "\(installation.state.lastLSN)", "keys": "\(keyspace.count)",
                "previous_log_moved_to": "\(installation.discardedPath ?? "(none)")",
            ])
        } catch {
            logger.critical("snapshot install failed; restart this standby", metadata: ["error": "\(error)"])
            primaryLinkFailed(channel, "snapshot install failed: \(error)")
            return
        }
        perform(node.snapshotInstalled(link: replication.primaryLinkID(of: channel), lastRecordChecksum: wal.lastRecordChecksum,
                                       nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    private func applyRecords(_ frames: [UInt8], link id: UInt64) {
        let records: [WALRecord]
        do {
            records = try WALFormat.decodeFrames(frames)
        } catch {
            perform(node.primaryLinkFailed("records from the primary do not decode: \(error)", nowMilliseconds: WallClock.monotonicMilliseconds()))
            return
        }
        let headers = records.map {
            RecordHeader(epoch: $0.epoch, lsn: $0.lsn, checksum: $0.checksum, byteCount: $0.frameBytes.count)
        }
        replication.receivedBatch = (frames, records)
        defer { replication.receivedBatch = nil }
        perform(node.receivedRecords(headers, link: id, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    /// `.appendReceived`: those records of the batch, byte for byte, applied. False (the
    /// log failed) if the append did not work.
    func appendReceived(_ range: Range<Int>) -> Bool {
        guard let batch = replication.receivedBatch, !range.isEmpty else { return true }
        let records = batch.records
        do {
            // Decoded (CRCs checked) once in `applyRecords`; appended without a second parse.
            _ = try batch.frames.withUnsafeBytes { try wal.appendDecodedFrames(records[range], in: $0) }
        } catch {
            failWAL("cannot append the primary's records: \(error)")
            return false
        }
        for record in records[range] { keyspace.apply(record.effects) }
        statistics.walRecordsAppended += Int64(range.count)
        node.appended(upTo: records[range.upperBound - 1].lsn, checksum: records[range.upperBound - 1].checksum)
        scheduleFlush()
        return true
    }

    /// The link on `channel` failed.
    func primaryLinkFailed(_ channel: any Channel, _ reason: String) {
        guard replication.primaryLinkID(of: channel) != 0 else { return }
        perform(node.primaryLinkFailed(reason, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }

    func primaryLinkClosed(_ channel: any Channel) {
        let id = replication.primaryLinkID(of: channel)
        guard id != 0 else { return }
        replication.primaryChannel = nil
        replication.snapshotReceiver?.abort()
        replication.snapshotReceiver = nil
        perform(node.primaryLinkClosed(link: id, nowMilliseconds: WallClock.monotonicMilliseconds()))
    }
}
