import NIOCore
import UnderstudyCore

/// The Sentinel and connection commands of one connection to the witness: `SENTINEL`,
/// Pub/Sub, `ROLE`, `HELLO`, `ECHO`, `CLIENT` — what Sentinel-aware clients send to a
/// Sentinel. `WITNESS`, `PING` (unsubscribed), `INFO` and `QUIT` stay `WitnessHandler`'s.
///
/// Lives on the witness's event loop, as its handler does.
final class SentinelConnection {
    private let hub: SentinelHub
    private let subscription: SentinelSubscription
    private var clientName: String?
    /// `CLIENT ID`: a number per connection, as Redis gives.
    let clientID: Int64
    /// The RESP version this connection speaks (`HELLO 3` switches it); its subscription's
    /// messages are written in it too.
    var protocolVersion: ProtocolVersion { subscription.protocolVersion }

    init(hub: SentinelHub, channel: any Channel, clientID: Int64) {
        self.hub = hub
        self.subscription = SentinelSubscription(channel: channel)
        self.clientID = clientID
    }

    /// The replies to `command`, or nil if it is not one of these (the caller answers it).
    /// In subscribed mode only Pub/Sub commands, `PING`, `QUIT` and `RESET` are allowed, as in Redis.
    func answer(_ command: Command) -> [Reply]? {
        let names = command.arguments.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        if subscription.count > 0 {
            switch command.name {
            case "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "reset", "quit":
                break
            case "ping":
                return [.array([.bulk("pong"), .bulk(names.first ?? "")])]
            default:
                let name = String(decoding: command.arguments[0].prefix(64), as: UTF8.self).lowercased()
                return [.error("ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")]
            }
        }
        switch command.name {
        case "sentinel":
            return [SentinelReplies(masterName: hub.masterName, myID: hub.myID, view: hub.view).answer(command.arguments)]
        case "role":
            return [SentinelReplies(masterName: hub.masterName, myID: hub.myID, view: hub.view).role]
        case "subscribe", "psubscribe":
            guard !names.isEmpty else { return [Self.arity(command.name)] }
            defer { hub.update(subscription) }
            return subscription.subscribe(names, pattern: command.name == "psubscribe")
        case "unsubscribe", "punsubscribe":
            defer { hub.update(subscription) }
            return subscription.unsubscribe(names, pattern: command.name == "punsubscribe")
        case "reset":
            _ = subscription.unsubscribe([], pattern: false)
            _ = subscription.unsubscribe([], pattern: true)
            hub.update(subscription)
            clientName = nil
            subscription.protocolVersion = .resp2
            return [.simple("RESET")]
        case "echo":
            guard command.arguments.count == 2 else { return [Self.arity("echo")] }
            return [.bulk(command.arguments[1])]
        case "hello":
            return [hello(names)]
        case "client":
            return [client(names)]
        default:
            return nil
        }
    }

    /// The connection closed: it receives nothing more.
    func closed() {
        hub.remove(subscription)
    }

    /// `HELLO [protover [SETNAME name]]`: 2 or 3 switches the connection's protocol (in
    /// RESP3 the instance fields of `SENTINEL` are maps and Pub/Sub messages push frames, as
    /// a Redis 7 Sentinel sends them); the options are read before anything changes.
    private func hello(_ arguments: [String]) -> Reply {
        var version = subscription.protocolVersion
        if let text = arguments.first {
            guard let number = Int(text) else { return .error("ERR Protocol version is not an integer or out of range") }
            guard let requested = ProtocolVersion(rawValue: number) else { return .error("NOPROTO unsupported protocol version") }
            version = requested
        }
        var name = clientName
        var rest = arguments.dropFirst()
        while let option = rest.first?.lowercased() {
            guard option == "setname", rest.count >= 2 else {
                return .error("ERR Syntax error in HELLO option '\(option.prefix(64))'")
            }
            name = rest[rest.index(after: rest.startIndex)]
            rest = rest.dropFirst(2)
        }
        clientName = name
        subscription.protocolVersion = version
        let fields: [(String, Reply)] = [
            ("server", .bulk("understudy")), ("version", .bulk("7.0.0")), ("proto", .integer(Int64(version.rawValue))),
            ("id", .integer(clientID)), ("mode", .bulk("sentinel")), ("role", .bulk("sentinel")), ("modules", .array([])),
        ]
        return .map(fields.map { Reply.MapEntry(.bulk($0.0), $0.1) })
    }

    private func client(_ arguments: [String]) -> Reply {
        switch (arguments.first?.lowercased(), arguments.count) {
        case ("setname", 2):
            guard !arguments[1].contains(where: { $0 == " " || $0 == "\n" }) else {
                return .error("ERR Client names cannot contain spaces, newlines or special characters.")
            }
            clientName = arguments[1].isEmpty ? nil : arguments[1]
            return .ok
        case ("getname", 1):
            return .bulk(clientName.map { Array($0.utf8) })
        case ("id", 1):
            return .integer(clientID)
        case ("setinfo", 3):
            return .ok  // redis-py sends its name and version on connecting
        default:
            return .error("ERR unknown subcommand or wrong number of arguments for 'client|\((arguments.first ?? "").prefix(64))'")
        }
    }

    private static func arity(_ name: String) -> Reply {
        .error("ERR wrong number of arguments for '\(name)' command")
    }
}
