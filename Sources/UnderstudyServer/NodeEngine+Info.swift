import Glibc
import UnderstudyCore
import UnderstudyStorage

/// INFO, in Redis's `# Section` / `field:value` format with CRLF line ends.
extension NodeEngine {
    static let defaultInfoSections = ["server", "clients", "persistence", "stats", "replication", "keyspace"]

    func info(sections requested: [String]) -> String {
        var sections = requested
        if sections.isEmpty || sections.contains(where: { ["all", "everything", "default"].contains($0) }) {
            sections = Self.defaultInfoSections
        }
        let blocks = Self.defaultInfoSections.filter(sections.contains).map { name -> String in
            let fields = infoFields(section: name)
            let title = name.prefix(1).uppercased() + name.dropFirst()
            return "# \(title)\r\n" + fields.map { "\($0.0):\($0.1)\r\n" }.joined()
        }
        return blocks.joined(separator: "\r\n")
    }

    private func infoFields(section: String) -> [(String, String)] {
        switch section {
        case "server": return serverFields()
        case "clients":
            return [
                ("connected_clients", "\(connectedClientCount)"),
                ("maxclients", "\(configuration.maxConnections)"),
                ("blocked_clients", "0"),
            ]
        case "persistence": return persistenceFields()
        case "stats":
            return [
                ("total_connections_received", "\(statistics.totalConnectionsReceived)"),
                ("total_commands_processed", "\(statistics.totalCommandsProcessed)"),
                ("rejected_connections", "\(statistics.rejectedConnections)"),
                ("expired_keys", "\(statistics.expiredKeys)"),
                ("total_error_replies_protocol", "\(statistics.protocolErrors)"),
                ("acl_access_denied_auth", "\(statistics.authenticationFailures)"),
                ("client_output_buffer_limit_disconnections", "\(statistics.clientOutputBufferLimitDisconnections)"),
                ("idle_timeout_disconnections", "\(statistics.idleTimeoutDisconnections)"),
                ("rejected_waiting_writes", "\(statistics.rejectedWaitingWrites)"),
            ]
        case "replication":
            return replicationFields()
        case "keyspace":
            guard keyspace.count > 0 else { return [] }
            return [("db0", "keys=\(keyspace.count),expires=\(keyspace.keysWithExpiryCount),avg_ttl=0")]
        default:
            return []
        }
    }

    private func serverFields() -> [(String, String)] {
        let uptimeSeconds = (WallClock.monotonicMilliseconds() - startedAtMonotonicMilliseconds) / 1000
        return [
            ("redis_version", ServerInfo.compatibleRedisVersion),
            ("understudy_version", ServerInfo.version),
            ("redis_mode", "standalone"),
            ("os", "Linux"),
            ("arch_bits", "64"),
            ("multiplexing_api", "epoll"),
            ("process_id", "\(getpid())"),
            ("tcp_port", "\(listeningPort)"),
            ("uptime_in_seconds", "\(uptimeSeconds)"),
            ("uptime_in_days", "\(uptimeSeconds / 86_400)"),
            ("executable", "understudy"),
        ]
    }

    private func persistenceFields() -> [(String, String)] {
        [
            ("loading", "0"),
            ("aof_enabled", "1"),
            ("appendfsync", configuration.fsyncPolicy.rawValue),
            ("wal_last_appended_lsn", "\(lastAppendedLSN)"),
            ("wal_durable_lsn", "\(durableLSN)"),
            ("wal_fsyncs", "\(statistics.fsyncCount)"),
            ("wal_segments_prepared", "\(wal.preparedRollovers)"),
            ("wal_segments_unprepared", "\(wal.unpreparedRollovers)"),
            ("wal_records_appended", "\(statistics.walRecordsAppended)"),
            ("wal_write_status", walFailure != nil ? "failed" : node.diskFull != nil ? "disk_full" : "ok"),
            ("wal_failure", walFailure ?? node.diskFull ?? ""),
            ("snapshot_last_lsn", "\(lastSnapshotLSN)"),
            ("snapshot_last_unix_time", "\((lastSnapshotUnixMilliseconds ?? 0) / 1000)"),
            ("snapshots_taken", "\(statistics.snapshotsTaken)"),
        ]
    }

    private func replicationFields() -> [(String, String)] {
        let now = WallClock.monotonicMilliseconds()
        if node.pairRole == .standby, let configuration = replication.configuration {
            let standby = node.standby?.replication
            let lag = standby?.lag(nowMilliseconds: now) ?? ReplicationLag(lsns: 0, bytes: 0, milliseconds: 0, standbyDurableLSN: nil, state: .none)
            return [
                ("role", "slave"),
                ("master_host", configuration.peer.host),
                ("master_port", "\(configuration.peer.port)"),
                ("master_link_status", node.linkStatus == "connected" ? "up" : "down"),
                ("slave_repl_offset", "\(standby?.lastLSN ?? wal.lastWrittenLSN)"),
                ("slave_read_only", "1"),
                ("understudy_epoch", "\(epoch)"),
                ("understudy_link_state", node.linkStatus),
                ("understudy_last_refusal", node.lastRefusal ?? ""),
                ("understudy_applied_lsn", "\(standby?.lastLSN ?? wal.lastWrittenLSN)"),
                ("understudy_durable_lsn", "\(standby?.durableLSN ?? durableLSN)"),
                ("understudy_lag_lsns", "\(lag.lsns)"),
                ("understudy_lag_milliseconds", "\(lag.milliseconds)"),
            ] + coordinationFields(now: now)
        }
        var fields: [(String, String)] = [
            ("role", "master"),
            ("connected_slaves", node.primary?.standbyLink == nil ? "0" : "1"),
        ]
        if let primaryRole = node.primary {
            let primary = primaryRole.replication
            let lag = primary.lag(nowMilliseconds: now)
            if let address = primaryRole.standbyLink?.address, let parsed = ListenAddress(parsing: address) {
                let state = lag.state == .streaming ? "online" : "wait_bgsave"
                fields.append(("slave0", "ip=\(parsed.host),port=\(parsed.port),state=\(state),offset=\(primary.standbyDurableLSN ?? .zero),lag=\(lag.milliseconds / 1000)"))
            }
            fields += [
                ("understudy_replication_mode", primary.mode.rawValue),
                ("understudy_sync_state", "\(lag.state)"),
                ("understudy_commit_lsn", "\(primary.commitLSN)"),
                ("understudy_standby_durable_lsn", "\(primary.standbyDurableLSN ?? .zero)"),
                ("understudy_lag_lsns", "\(lag.lsns)"),
                ("understudy_lag_bytes", "\(lag.bytes)"),
                ("understudy_lag_milliseconds", "\(lag.milliseconds)"),
                ("understudy_fenced_by_epoch", primaryRole.supersededBy.map { "\($0)" } ?? ""),
            ]
        }
        fields += [
            ("understudy_epoch", "\(epoch)"),
            ("master_repl_offset", "\(lastAppendedLSN)"),
        ]
        return fields + coordinationFields(now: now)
    }

    /// Automatic failover: the coordinator's view, the last promotion's timeline and the
    /// last rewind (what was cut off on rejoining, and where it was kept).
    private func coordinationFields(now: Int64) -> [(String, String)] {
        var fields: [(String, String)] = []
        if let coordinator = node.coordinator {
            fields += [
                ("understudy_role", coordinator.role.rawValue),
                ("understudy_known_epoch", "\(coordinator.epoch)"),
                ("understudy_witness", replication.witnessLink.map { "\($0.address)" } ?? ""),
                ("understudy_witness_link", replication.witnessLink?.isConnected == true ? "up" : "down"),
                ("understudy_witness_last_error", replication.witnessLink?.lastError ?? ""),
                ("understudy_witness_last_denial", coordinator.lastDenial ?? ""),
            ]
            if coordinator.role == .primary {
                let remaining = coordinator.leaseExpiresAtMilliseconds.map { max(0, $0 - now) } ?? 0
                fields.append(("understudy_lease_remaining_ms", "\(remaining)"))
                if coordinator.settings.mode == .sync {
                    fields += [
                        ("understudy_standby_in_sync", coordinator.standbyInSync ? "1" : "0"),
                        ("understudy_acknowledges_alone", node.primary?.replication.acknowledgesAlone == true ? "1" : "0"),
                    ]
                }
            }
        } else if replication.configuration?.witness != nil {
            fields.append(("understudy_role", "undecided"))
        }
        if let promotion = replication.lastPromotion {
            fields += [
                ("understudy_last_promotion_epoch", "\(promotion.epoch)"),
                ("understudy_last_promotion_vote_to_promoted_ms", promotion.detectedMilliseconds.map { "\(promotion.promotedMilliseconds - $0)" } ?? ""),
                ("understudy_last_promotion_promoted_to_first_write_ms", promotion.firstWriteMilliseconds.map { "\($0 - promotion.promotedMilliseconds)" } ?? ""),
                ("understudy_last_promotion_seconds_ago", "\((now - promotion.promotedMilliseconds) / 1000)"),
            ]
        }
        if let rewind = replication.lastRewind {
            fields += [
                ("understudy_rewind_records", "\(rewind.recordCount)"),
                ("understudy_rewind_first_lsn", rewind.firstLSN.map { "\($0)" } ?? ""),
                ("understudy_rewind_last_lsn", rewind.lastLSN.map { "\($0)" } ?? ""),
                ("understudy_rewind_file", rewind.path ?? ""),
                ("understudy_rewind_state_reset", rewind.stateReset ? "1" : "0"),
            ]
        }
        fields.append(("understudy_rewound_records_total", "\(statistics.rewoundRecords)"))
        return fields
    }
}
