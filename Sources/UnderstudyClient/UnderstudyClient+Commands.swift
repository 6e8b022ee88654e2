import UnderstudyCore

/// The typed commands. Each builds its arguments, runs through `execute` (routing, retries,
/// idempotency keys) and reads its reply's shape; a shape it does not expect is
/// `unexpectedReply`.
extension UnderstudyClient {
    /// `GET key`: the value, or nil.
    public func get(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> [UInt8]? {
        try Self.bulk(await run(["GET", key], options: options), "GET")
    }

    /// `SET key value [EX|PX …] [NX|XX] [GET]`.
    @discardableResult
    public func set(_ key: String, _ value: [UInt8], with setOptions: SetOptions = SetOptions(),
                    options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> SetOutcome {
        let arguments = [Array("SET".utf8), Array(key.utf8), value] + setOptions.arguments.map { Array($0.utf8) }
        let reply = try await execute(arguments, options: options)
        guard setOptions.returnPreviousValue else {
            switch reply {
            case .simple: return SetOutcome(applied: true, previousValue: nil)
            case .bulk(nil): return SetOutcome(applied: false, previousValue: nil)
            default: throw Self.unexpected(reply, "SET")
            }
        }
        let previous = try Self.bulk(reply, "SET … GET")
        switch setOptions.condition {
        case .ifAbsent?: return SetOutcome(applied: previous == nil, previousValue: previous)
        case .ifExists?: return SetOutcome(applied: previous != nil, previousValue: previous)
        default: return SetOutcome(applied: true, previousValue: previous)
        }
    }

    @discardableResult
    public func set(_ key: String, _ value: String, with setOptions: SetOptions = SetOptions(),
                    options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> SetOutcome {
        try await set(key, Array(value.utf8), with: setOptions, options: options)
    }

    /// `DEL key…`: how many were deleted.
    @discardableResult
    public func del(_ keys: [String], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["DEL"] + keys, options: options), "DEL")
    }

    /// `EXISTS key…`: how many exist (a key named twice counts twice).
    public func exists(_ keys: [String], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["EXISTS"] + keys, options: options), "EXISTS")
    }

    public func incr(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["INCR", key], options: options), "INCR")
    }

    public func incrBy(_ key: String, _ increment: Int64, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["INCRBY", key, String(increment)], options: options), "INCRBY")
    }

    public func decr(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["DECR", key], options: options), "DECR")
    }

    public func decrBy(_ key: String, _ decrement: Int64, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["DECRBY", key, String(decrement)], options: options), "DECRBY")
    }

    /// `APPEND key value`: the new length.
    public func append(_ key: String, _ value: [UInt8], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await execute([Array("APPEND".utf8), Array(key.utf8), value], options: options), "APPEND")
    }

    /// `MGET key…`: one value (or nil) per key.
    public func mget(_ keys: [String], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> [[UInt8]?] {
        let reply = try await run(["MGET"] + keys, options: options)
        guard case .array(let elements?) = reply else { throw Self.unexpected(reply, "MGET") }
        var values: [[UInt8]?] = []
        for element in elements { values.append(try Self.bulk(element, "MGET")) }
        return values
    }

    /// `MSET key value …`.
    public func mset(_ pairs: [(key: String, value: [UInt8])], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) {
        let arguments = [Array("MSET".utf8)] + pairs.flatMap { [Array($0.key.utf8), $0.value] }
        let reply = try await execute(arguments, options: options)
        guard case .simple = reply else { throw Self.unexpected(reply, "MSET") }
    }

    /// `EXPIRE key seconds`: whether the timeout was set (false: no such key).
    @discardableResult
    public func expire(_ key: String, seconds: Int64, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Bool {
        try Self.integer(await run(["EXPIRE", key, String(seconds)], options: options), "EXPIRE") == 1
    }

    /// `TTL key`.
    public func ttl(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> TimeToLive {
        switch try Self.integer(await run(["TTL", key], options: options), "TTL") {
        case -2: .keyMissing
        case -1: .noExpiry
        case let seconds: .seconds(seconds)
        }
    }

    func run(_ words: [String], options: CallOptions) async throws(UnderstudyClientError) -> Reply {
        try await execute(words.map { Array($0.utf8) }, options: options)
    }

    static func integer(_ reply: Reply, _ command: String) throws(UnderstudyClientError) -> Int64 {
        guard case .integer(let value) = reply else { throw unexpected(reply, command) }
        return value
    }

    static func bulk(_ reply: Reply, _ command: String) throws(UnderstudyClientError) -> [UInt8]? {
        guard case .bulk(let value) = reply else { throw unexpected(reply, command) }
        return value
    }

    static func unexpected(_ reply: Reply, _ command: String) -> UnderstudyClientError {
        UnderstudyClientError(code: .unexpectedReply, message: "\(command) answered \(reply)")
    }
}
