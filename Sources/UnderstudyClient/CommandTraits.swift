import UnderstudyCore

/// What the client must know of a command before sending it: whether it only reads (safe to
/// re-send after any failure, may go to the standby) and whether a repeat could apply it
/// twice or answer differently (it then carries an idempotency key). Pure.
struct CommandTraits: Sendable, Equatable {
    /// Reads that may be re-sent whatever happened to an earlier attempt.
    let isRead: Bool
    /// A write that is not naturally idempotent: wrapped in `IDEMPOTENT <key> …`.
    let needsIdempotencyKey: Bool
    /// The command is already `IDEMPOTENT <key> …` (sent raw through `send`): its key.
    let carriedIdempotencyKey: String?

    /// Non-keyspace commands that only read and are safe to re-send.
    private static let safeServerReads: Set<String> = ["ping", "echo", "info", "role", "command"]
    /// Writes whose repeat applies twice or answers differently, whatever their arguments.
    private static let alwaysKeyed: Set<String> = [
        "incr", "incrby", "decr", "decrby", "incrbyfloat", "append", "setrange", "msetnx", "del", "getdel",
        "getset", "setnx",
    ]
    private static let expireFamily: Set<String> = ["expire", "pexpire", "expireat", "pexpireat"]
    private static let conditionalSetOptions: Set<String> = ["get", "nx", "xx"]
    private static let conditionalExpireOptions: Set<String> = ["nx", "xx", "gt", "lt"]

    init(arguments: [[UInt8]]) {
        precondition(!arguments.isEmpty, "a command has at least its name")
        let name = Self.lowercased(arguments[0])
        if name == "idempotent" {
            isRead = false
            needsIdempotencyKey = false
            carriedIdempotencyKey = arguments.count > 1 ? String(decoding: arguments[1], as: UTF8.self) : nil
            return
        }
        carriedIdempotencyKey = nil
        if let spec = CommandTable.spec(named: name) {
            isRead = !spec.isWrite && (spec.handler == .keyspace || Self.safeServerReads.contains(name))
        } else {
            isRead = false  // unknown: treated as a write, never re-sent after an unknown outcome
        }
        needsIdempotencyKey = Self.needsKey(name: name, arguments: arguments)
    }

    private static func needsKey(name: String, arguments: [[UInt8]]) -> Bool {
        if alwaysKeyed.contains(name) { return true }
        // Options come after the key and the value (SET) or the key and the time (EXPIRE…).
        if name == "set" { return arguments.dropFirst(3).contains { conditionalSetOptions.contains(lowercased($0)) } }
        if expireFamily.contains(name) {
            return arguments.dropFirst(3).contains { conditionalExpireOptions.contains(lowercased($0)) }
        }
        return false
    }

    /// `IDEMPOTENT <key> <command> [arguments…]`.
    static func wrap(_ arguments: [[UInt8]], idempotencyKey: String) -> [[UInt8]] {
        [Array("IDEMPOTENT".utf8), Array(idempotencyKey.utf8)] + arguments
    }

    private static func lowercased(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
