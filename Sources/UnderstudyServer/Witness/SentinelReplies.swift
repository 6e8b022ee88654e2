import UnderstudyCore

/// The witness's answers to `SENTINEL …` and `ROLE`, in the shapes Redis Sentinel gives
/// and Sentinel-aware clients (redis-py, Jedis, Lettuce, go-redis) parse: an instance is a
/// flat array of field names and values, every value a bulk string.
///
/// Formatting only: who is master, who replicates and who is down come from `SentinelView`.
struct SentinelReplies {
    /// The Sentinel master name (`--cluster-name`).
    let masterName: String
    /// This witness's Sentinel ID (`SENTINEL MYID`): 40 hex characters, new at each start.
    let myID: String
    /// The view now, nil while no primary has been chosen.
    let view: SentinelView?

    /// The reply Sentinel documents as `failover-timeout` (the witness's failovers are not
    /// timed by it; clients only display it).
    static let failoverTimeoutMilliseconds = 180_000

    /// Answers `SENTINEL <subcommand> …` (the arguments with the command name first).
    func answer(_ arguments: [[UInt8]]) -> Reply {
        guard arguments.count >= 2 else { return .error("ERR wrong number of arguments for 'sentinel' command") }
        let subcommand = String(decoding: arguments[1], as: UTF8.self).lowercased()
        let names = arguments.dropFirst(2).map { String(decoding: $0, as: UTF8.self) }
        func arity(_ count: Int) -> Reply? {
            names.count == count ? nil : .error("ERR wrong number of arguments for 'sentinel|\(subcommand)' command")
        }
        switch subcommand {
        case "masters":
            return arity(0) ?? .array(view.map { [master($0)] } ?? [])
        case "myid":
            return arity(0) ?? .bulk(myID)
        case "get-master-addr-by-name", "get-primary-addr-by-name":
            // As Sentinel: a null array for a name it does not know (and while it knows no master).
            if let wrong = arity(1) { return wrong }
            guard names[0] == masterName, let view else { return .array(nil) }
            return .array([.bulk(view.master.endpoint.host), .bulk("\(view.master.endpoint.port)")])
        case "master", "slaves", "replicas", "sentinels", "ckquorum":
            if let wrong = arity(1) { return wrong }
            guard names[0] == masterName else { return .error("ERR No such master with that name") }
            return answer(subcommand)
        case "help":
            return .array(Self.help.map { .simple($0) })
        default:
            return .error("ERR unknown subcommand '\(String(decoding: arguments[1].prefix(64), as: UTF8.self))'. Try SENTINEL HELP.")
        }
    }

    /// `ROLE` as Sentinel answers it: `sentinel` and the names of its masters.
    var role: Reply {
        .array([.bulk("sentinel"), .array([.bulk(masterName)])])
    }

    private func answer(_ subcommand: String) -> Reply {
        switch subcommand {
        case "master":
            guard let view else { return .error("ERR No master known yet: the witness has not chosen a primary for '\(masterName)'") }
            return master(view)
        case "slaves", "replicas":
            guard let view else { return .array([]) }
            return .array(view.replicas.map { replica($0, of: view) })
        case "sentinels":
            return .array([])  // the witness is the only one
        default:  // ckquorum
            return .simple("OK 1 usable Sentinels. Quorum and failover authorization can be reached")
        }
    }

    private static let help = [
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>", "GET-MASTER-ADDR-BY-NAME <master-name>", "MASTER <master-name>", "MASTERS", "MYID",
        "REPLICAS <master-name>", "SENTINELS <master-name>", "SLAVES <master-name>",
    ]

    func master(_ view: SentinelView) -> Reply {
        let instance = view.master
        var fields = common(instance, name: masterName, flags: "master", view: view)
        fields += [
            ("role-reported", "master"), ("role-reported-time", "\(instance.silenceMilliseconds)"),
            ("config-epoch", "\(view.epoch)"), ("num-slaves", "\(view.replicas.count)"), ("num-other-sentinels", "0"),
            ("quorum", "1"), ("failover-timeout", "\(Self.failoverTimeoutMilliseconds)"), ("parallel-syncs", "1"),
        ]
        return Self.pairs(fields)
    }

    func replica(_ instance: SentinelView.Instance, of view: SentinelView) -> Reply {
        var fields = common(instance, name: instance.address, flags: "slave", view: view)
        fields += [
            ("role-reported", "slave"), ("role-reported-time", "\(instance.silenceMilliseconds)"),
            ("master-link-down-time", "0"), ("master-link-status", instance.linkUp ? "ok" : "err"),
            ("master-host", view.master.endpoint.host), ("master-port", "\(view.master.endpoint.port)"),
            ("slave-priority", "100"), ("slave-repl-offset", "\(instance.replicationOffset)"), ("replica-announced", "1"),
        ]
        return Self.pairs(fields)
    }

    /// The fields every instance has, in Sentinel's order. The witness pings no one: the
    /// ping fields say how long ago it last heard from the node.
    private func common(_ instance: SentinelView.Instance, name: String, flags role: String,
                        view: SentinelView) -> [(String, String)] {
        let flags = (instance.isDown ? (role == "master" ? ["s_down", "o_down"] : ["s_down"]) : []) + [role]
            + (instance.isDown ? ["disconnected"] : [])
        var fields = [
            ("name", name), ("ip", instance.endpoint.host), ("port", "\(instance.endpoint.port)"), ("runid", ""),
            ("flags", flags.joined(separator: ",")), ("link-pending-commands", "0"), ("link-refcount", "1"),
            ("last-ping-sent", "0"), ("last-ok-ping-reply", "\(instance.silenceMilliseconds)"),
            ("last-ping-reply", "\(instance.silenceMilliseconds)"),
        ]
        if instance.isDown {
            let downForMilliseconds = max(0, instance.silenceMilliseconds - view.downAfterMilliseconds)
            fields.append(("s-down-time", "\(downForMilliseconds)"))
            if role == "master" { fields.append(("o-down-time", "\(downForMilliseconds)")) }
        }
        fields += [("down-after-milliseconds", "\(view.downAfterMilliseconds)"), ("info-refresh", "\(instance.silenceMilliseconds)")]
        return fields
    }

    private static func pairs(_ fields: [(String, String)]) -> Reply {
        .map(fields.map { Reply.MapEntry(.bulk($0.0), .bulk($0.1)) })
    }
}
