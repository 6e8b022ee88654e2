import Glibc
import UnderstudyCore
import UnderstudyStorage
import UnderstudyWire

/// Facts about this build that clients and tools read.
enum ServerInfo {
    static let version = "0.1.0"
    /// Redis tooling reads `redis_version`; we answer with the Redis release whose
    /// string and keyspace commands we implement.
    static let compatibleRedisVersion = "7.0.15"
}

/// Commands that need node-wide state: INFO, CONFIG, COMMAND, METRICS.
extension NodeEngine {
    func executeServerCommand(_ command: Command) -> Reply {
        let arguments = command.arguments
        switch command.name {
        case "info":
            let sections = arguments.dropFirst().map(\.asciiLowercasedString)
            return .verbatimText(info(sections: sections))  // RESP2: a bulk string
        case "config":
            return config(arguments)
        case "command":
            return commandCommand(arguments)
        case "role":
            return role()
        case "fence":
            return fence(arguments)
        case "metrics":
            guard let render = configuration.metricsExposition else {
                return .error("ERR metrics are not enabled in this process")
            }
            updateMetricGauges()
            return .bulk(render())
        case "events":
            return eventsCommand(arguments)
        case "drain":
            return drainCommand()
        default:
            return .error("ERR unknown command '\(command.name)'")
        }
    }

    // MARK: ROLE

    /// Redis's ROLE layout, so Redis tooling reads it: a primary lists its standby with the
    /// offset (LSN) it has acknowledged; a standby names its primary and its link state.
    private func role() -> Reply {
        if node.pairRole == .standby, let peer = replication.configuration?.peer {
            let state: String
            switch node.linkStatus {
            case "connected": state = "connected"
            case "handshake": state = "connecting"
            default: state = "connect"
            }
            return .array([
                .bulk("slave"), .bulk(peer.host), .integer(Int64(peer.port)), .bulk(state),
                .integer(Int64(node.standby?.replication.lastLSN.rawValue ?? 0)),
            ])
        }
        var standbys: [Reply] = []
        if let address = node.primary?.standbyLink?.address, let parsed = ListenAddress(parsing: address) {
            let acknowledged = node.primary?.replication.standbyDurableLSN ?? .zero
            standbys.append(.array([.bulk(parsed.host), .bulk(String(parsed.port)), .bulk(String(acknowledged.rawValue))]))
        }
        return .array([.bulk("master"), .integer(Int64(wal.lastWrittenLSN.rawValue)), .array(standbys)])
    }

    // MARK: CONFIG

    /// The parameters CONFIG GET reports: enough for redis-benchmark, redis-py and redis-cli.
    private var configParameters: [(String, String)] {
        [
            ("appendfsync", configuration.fsyncPolicy.rawValue),
            ("appendonly", "yes"),
            ("bind", configuration.host),
            ("client-output-buffer-limit", "normal \(configuration.clientOutputBufferLimitBytes) 0 0"),
            ("databases", "1"),
            ("dir", configuration.dataDirectory),
            ("maxclients", String(configuration.maxConnections)),
            ("maxmemory", "0"),
            ("port", String(listeningPort)),
            ("proto-max-bulk-len", String(configuration.wireLimits.maxBulkBytes)),
            ("save", ""),
            ("timeout", String(configuration.idleTimeoutMilliseconds / 1000)),
        ]
    }

    private func config(_ arguments: [[UInt8]]) -> Reply {
        let subcommand = arguments[1].asciiLowercasedString
        switch subcommand {
        case "get" where arguments.count >= 3:
            let patterns = arguments.dropFirst(2).map { $0.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 } }
            var reply: [(String, Reply)] = []
            for (name, value) in configParameters
            where patterns.contains(where: { GlobPattern.matches($0, Array(name.utf8)) }) {
                reply.append((name, .bulk(value)))
            }
            return .map(fields: reply)  // RESP2: name, value, name, value, …
        case "resetstat" where arguments.count == 2:
            statistics = ServerStatistics()
            return .ok
        case "set":
            return .error("ERR CONFIG SET is not supported: Understudy is configured by its command-line flags")
        case "get", "resetstat":
            return .error("ERR wrong number of arguments for 'config|\(subcommand)' command")
        default:
            return .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try CONFIG HELP.")
        }
    }

    // MARK: COMMAND

    private func commandCommand(_ arguments: [[UInt8]]) -> Reply {
        guard arguments.count >= 2 else {
            return .array(CommandTable.all.map(commandInfo))
        }
        let subcommand = arguments[1].asciiLowercasedString
        let names = arguments.dropFirst(2).map(\.asciiLowercasedString)
        switch subcommand {
        case "count":
            return .integer(Int64(CommandTable.all.count))
        case "list":
            return .array(CommandTable.all.map { .bulk($0.name) })
        case "info":
            let specs = names.isEmpty ? CommandTable.all.map(Optional.some) : names.map(CommandTable.spec(named:))
            return .array(specs.map { $0.map(commandInfo) ?? .array(nil) })
        case "docs":
            let specs = names.isEmpty ? CommandTable.all : names.compactMap(CommandTable.spec(named:))
            return .map(fields: specs.map { spec in
                (spec.name, .map([
                    "summary": .bulk("\(spec.name.uppercased()) (Redis 7 semantics)"),
                    "since": .bulk("1.0.0"),
                    "group": .bulk(group(of: spec)),
                ]))
            })
        default:
            return .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try COMMAND HELP.")
        }
    }

    /// Redis's COMMAND INFO layout: name, arity, flags, first key, last key, step,
    /// ACL categories, tips, key specs, subcommands. Redis 7.0 sends the flags and the last
    /// four as sets (arrays in RESP2).
    private func commandInfo(_ spec: CommandSpec) -> Reply {
        let keys = keyPositions(of: spec.name)
        var flags: [Reply] = [.simple(spec.isWrite ? "write" : (spec.handler == .keyspace ? "readonly" : "fast"))]
        if spec.handler != .keyspace { flags.append(.simple("stale")) }
        return .array([
            .bulk(spec.name), .integer(Int64(spec.arity)), .set(flags),
            .integer(keys.first), .integer(keys.last), .integer(keys.step),
            .set([]), .set([]), .set([]), .set([]),
        ])
    }

    private func group(of spec: CommandSpec) -> String {
        switch spec.handler {
        case .connection: return "connection"
        case .server: return "server"
        case .keyspace:
            let generic: Set = [
                "del", "unlink", "exists", "type", "rename", "renamenx", "randomkey", "keys", "scan",
                "expire", "pexpire", "expireat", "pexpireat", "ttl", "pttl", "expiretime",
                "pexpiretime", "persist",
            ]
            if ["dbsize", "flushall", "flushdb"].contains(spec.name) { return "server" }
            return generic.contains(spec.name) ? "generic" : "string"
        }
    }

    /// First key, last key and step, as COMMAND reports them (cluster-aware clients use it).
    private func keyPositions(of name: String) -> (first: Int64, last: Int64, step: Int64) {
        switch name {
        case "mget", "del", "unlink", "exists": return (1, -1, 1)
        case "mset", "msetnx": return (1, -1, 2)
        case "rename", "renamenx": return (1, 2, 1)
        case "keys", "scan", "dbsize", "flushall", "flushdb", "randomkey": return (0, 0, 0)
        default:
            guard let spec = CommandTable.spec(named: name), spec.handler == .keyspace else { return (0, 0, 0) }
            return (1, 1, 1)
        }
    }
}
