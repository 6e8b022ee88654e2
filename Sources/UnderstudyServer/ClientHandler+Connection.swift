import UnderstudyCore

/// Commands about the connection itself: PING, ECHO, SELECT, CLIENT, HELLO, AUTH, QUIT, RESET.
extension ClientHandler {
    func executeConnectionCommand(_ command: Command) -> Reply {
        let arguments = command.arguments
        switch command.name {
        case "ping":
            switch arguments.count {
            case 1: return .simple("PONG")
            case 2: return .bulk(arguments[1])
            default: return CommandTable.wrongNumberOfArgumentsReply(for: "ping")
            }
        case "echo":
            return .bulk(arguments[1])
        case "select":
            return select(arguments[1])
        case "quit":
            isClosing = true
            return .ok
        case "reset":
            // As Redis's RESET: the name goes and the protocol is RESP2 again (`+RESET` is
            // sent in RESP2; it is the same in RESP3).
            session.name = nil
            session.protocolVersion = .resp2
            if engine.configuration.users.requiresAuthentication { session.user = nil }  // as Redis: RESET de-authenticates
            return .simple("RESET")
        case "client":
            return client(arguments)
        case "wait":
            return wait(arguments)
        case "durability":
            let (level, lsn) = engine.durability(of: session.lastWriteLSN)
            return .array([.bulk(level), .integer(Int64(lsn.rawValue))])
        case "hello":
            return hello(arguments)
        case "auth":
            return auth(arguments)
        case "failover":
            return failover(arguments)
        case "promote":
            return promote(arguments)
        default:
            return .error("ERR unknown command '\(command.name)'")
        }
    }

    /// WAIT numreplicas timeout (Redis semantics). While it waits, later requests of this
    /// connection wait behind it (their replies must follow its reply).
    private func wait(_ arguments: [[UInt8]]) -> Reply {
        guard let replicas = Int(String(decoding: arguments[1], as: UTF8.self)),
              let timeout = Int64(String(decoding: arguments[2], as: UTF8.self)) else {
            return .error("ERR value is not an integer or out of range")
        }
        guard timeout >= 0 else { return .error("ERR timeout is negative") }
        if let immediate = engine.waitForReplicas(
            self, lsn: session.lastWriteLSN, numberOfReplicas: replicas, timeoutMilliseconds: timeout) {
            return immediate
        }
        waitPending = true
        return .simple("")  // not sent: see `enqueue`, the real reply comes from `completeWait`
    }

    /// `FAILOVER [TIMEOUT ms]` on the primary: a planned switchover to the standby (Redis's
    /// `FAILOVER` syntax; `TO host port` is accepted when it names the standby). Unlike
    /// Redis it answers when the switchover is over: `+OK <new primary>` or an error.
    private func failover(_ arguments: [[UInt8]]) -> Reply {
        var timeout = NodeLimits.standard.switchoverTimeoutMilliseconds
        var target: String?
        var index = 1
        while index < arguments.count {
            let word = String(decoding: arguments[index], as: UTF8.self).lowercased()
            switch word {
            case "timeout" where index + 1 < arguments.count:
                guard let value = Int64(String(decoding: arguments[index + 1], as: UTF8.self)), value > 0 else {
                    return .error("ERR FAILOVER TIMEOUT must be a positive number of milliseconds")
                }
                timeout = value
                index += 2
            case "to" where index + 2 < arguments.count:
                target = "\(String(decoding: arguments[index + 1], as: UTF8.self)):\(String(decoding: arguments[index + 2], as: UTF8.self))"
                index += 3
            default:
                return .error("ERR syntax error: FAILOVER [TO host port] [TIMEOUT milliseconds]")
            }
        }
        return deferReply { completion in engine.beginHandover(to: target, timeoutMilliseconds: timeout, completion: completion) }
    }

    /// `PROMOTE FORCE [TIMEOUT ms]` on a standby: an operator's forced promotion.
    private func promote(_ arguments: [[UInt8]]) -> Reply {
        guard String(decoding: arguments[1], as: UTF8.self).lowercased() == "force" else {
            return .error("ERR syntax error: PROMOTE FORCE [TIMEOUT milliseconds] (it may lose writes: see understudy promote --force)")
        }
        var timeout = NodeLimits.standard.forcedPromotionTimeoutMilliseconds
        if arguments.count == 4, String(decoding: arguments[2], as: UTF8.self).lowercased() == "timeout",
           let value = Int64(String(decoding: arguments[3], as: UTF8.self)), value > 0 {
            timeout = value
        } else if arguments.count != 2 {
            return .error("ERR syntax error: PROMOTE FORCE [TIMEOUT milliseconds]")
        }
        return deferReply { completion in engine.forcePromotion(timeoutMilliseconds: timeout, completion: completion) }
    }

    /// Runs `start`, whose completion answers this request later (later requests wait behind
    /// it, as behind WAIT); returns the reply if it came at once.
    private func deferReply(_ start: (@escaping (Result<String, HandoverError>) -> Void) -> Void) -> Reply {
        var immediate: Reply?
        var started = false
        start { outcome in
            let reply: Reply
            switch outcome {
            case .success(let primary): reply = .simple("OK \(primary)")
            case .failure(let error): reply = .error(error.message)
            }
            if started { self.completeDeferred(reply) } else { immediate = reply }
        }
        started = true
        if let immediate { return immediate }
        waitPending = true
        return .simple("")  // not sent: the reply comes from `completeDeferred`
    }

    private func select(_ argument: [UInt8]) -> Reply {
        guard let index = Int64(String(decoding: argument, as: UTF8.self)) else {
            return .error("ERR value is not an integer or out of range")
        }
        guard index == 0 else {
            return .error("ERR DB index is out of range (Understudy has database 0 only)")
        }
        return .ok
    }

    private func client(_ arguments: [[UInt8]]) -> Reply {
        let subcommand = arguments[1].asciiLowercasedString
        switch (subcommand, arguments.count) {
        case ("id", 2):
            return .integer(session.id)
        case ("getname", 2):
            return .bulk(session.name)
        case ("setname", 3):
            return session.setName(arguments[2]) ?? .ok
        case ("setinfo", 4):
            let value = String(decoding: arguments[3], as: UTF8.self)
            guard arguments[3].allSatisfy({ $0 > 32 && $0 < 127 }) else {
                return .error("ERR \(arguments[2].asciiLowercasedString) cannot contain spaces, newlines or special characters.")
            }
            switch arguments[2].asciiLowercasedString {
            case "lib-name": session.libraryName = value
            case "lib-ver": session.libraryVersion = value
            default:
                return .error("ERR Unrecognized option '\(String(decoding: arguments[2], as: UTF8.self))'")
            }
            return .ok
        case ("info", 2):
            return .verbatimText(describe(session) + "\n")
        case ("list", 2):
            let lines = engine.clientHandlers.map { describe($0.session) + "\n" }
            return .verbatimText(lines.sorted().joined())
        case ("id", _), ("getname", _), ("setname", _), ("setinfo", _), ("info", _), ("list", _):
            return .error("ERR wrong number of arguments for 'client|\(subcommand)' command")
        default:
            return .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try CLIENT HELP.")
        }
    }

    private func describe(_ session: ClientSession) -> String {
        let ageSeconds = (WallClock.monotonicMilliseconds() - session.connectedAtMonotonicMilliseconds) / 1000
        let name = session.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "id=\(session.id) addr=\(session.remoteAddress) name=\(name) age=\(ageSeconds) db=0 "
            + "cmd=\(session.lastCommandName) lib-name=\(session.libraryName ?? "") lib-ver=\(session.libraryVersion ?? "") "
            + "resp=\(session.protocolVersion.rawValue)"
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]]: switches the
    /// connection to RESP3 (`HELLO 3`) or back to RESP2 (`HELLO 2`), and answers with the
    /// server's facts in the protocol now spoken — a map in RESP3, a flat array in RESP2.
    private func hello(_ arguments: [[UInt8]]) -> Reply {
        let request: HelloRequest
        switch HelloRequest.parse(arguments) {
        case .success(let parsed): request = parsed
        case .failure(let refused): return refused.reply
        }
        var delayMilliseconds: Int64 = 0
        for option in request.options {
            switch option {
            case .auth(let username, let password):
                let outcome = authenticate(username: String(decoding: username, as: UTF8.self), password: password)
                delayMilliseconds = outcome.delayMilliseconds
                if let refusal = outcome.refusal { return delayed(refusal, byMilliseconds: delayMilliseconds) }
            case .setName(let name):
                _ = session.setName(name)  // valid: the parser checked it
            }
        }
        if session.user == nil { return AccessRule.helloNoAuthReply }
        if let error = request.error { return delayed(error, byMilliseconds: delayMilliseconds) }
        if let version = request.protocolVersion { session.protocolVersion = version }
        return delayed(helloReply(), byMilliseconds: delayMilliseconds)
    }

    private func helloReply() -> Reply {
        .map([
            "server": .bulk("redis"),
            "version": .bulk(ServerInfo.compatibleRedisVersion),
            "proto": .integer(Int64(session.protocolVersion.rawValue)),
            "id": .integer(session.id),
            "mode": .bulk("standalone"),
            "role": .bulk(engine.node.pairRole == .standby ? "replica" : "master"),
            "modules": .array([]),
        ])
    }
}

extension [UInt8] {
    /// The bytes as a String with ASCII letters lower-cased (for option names).
    var asciiLowercasedString: String {
        String(decoding: map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
