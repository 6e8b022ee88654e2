import UnderstudyCore

/// The rest of the string and keyspace commands the server supports, typed (`send` covers
/// anything else). Writes that are not naturally idempotent get an `IDEMPOTENT` key as usual.
extension UnderstudyClient {
    /// `GETDEL key`: the value it had, or nil.
    public func getDel(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> [UInt8]? {
        try Self.bulk(await run(["GETDEL", key], options: options), "GETDEL")
    }

    /// `STRLEN key`.
    public func strlen(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["STRLEN", key], options: options), "STRLEN")
    }

    /// `GETRANGE key start end` (inclusive, negative from the end).
    public func getRange(_ key: String, start: Int64, end: Int64, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> [UInt8] {
        try Self.bulk(await run(["GETRANGE", key, String(start), String(end)], options: options), "GETRANGE") ?? []
    }

    /// `SETRANGE key offset value`: the new length.
    @discardableResult
    public func setRange(_ key: String, offset: Int64, _ value: [UInt8], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await execute([Array("SETRANGE".utf8), Array(key.utf8), Array(String(offset).utf8), value], options: options), "SETRANGE")
    }

    /// `INCRBYFLOAT key increment`: the new value.
    public func incrByFloat(_ key: String, _ increment: Double, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Double {
        let reply = try await run(["INCRBYFLOAT", key, String(increment)], options: options)
        guard let bytes = try Self.bulk(reply, "INCRBYFLOAT"), let value = Double(String(decoding: bytes, as: UTF8.self)) else {
            throw Self.unexpected(reply, "INCRBYFLOAT")
        }
        return value
    }

    /// `UNLINK key…`: how many were removed.
    @discardableResult
    public func unlink(_ keys: [String], options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["UNLINK"] + keys, options: options), "UNLINK")
    }

    /// `TYPE key`: `string`, or `none`.
    public func type(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> String {
        let reply = try await run(["TYPE", key], options: options)
        guard case .simple(let type) = reply else { throw Self.unexpected(reply, "TYPE") }
        return type
    }

    /// `RENAME key newkey` (`ifAbsent`: `RENAMENX`, answering whether it renamed).
    @discardableResult
    public func rename(_ key: String, to newKey: String, ifAbsent: Bool = false,
                       options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Bool {
        let reply = try await run([ifAbsent ? "RENAMENX" : "RENAME", key, newKey], options: options)
        switch reply {
        case .simple: return true
        case .integer(let renamed): return renamed == 1
        default: throw Self.unexpected(reply, ifAbsent ? "RENAMENX" : "RENAME")
        }
    }

    /// `PEXPIRE key milliseconds`: whether the timeout was set.
    @discardableResult
    public func pexpire(_ key: String, milliseconds: Int64, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Bool {
        try Self.integer(await run(["PEXPIRE", key, String(milliseconds)], options: options), "PEXPIRE") == 1
    }

    /// `PERSIST key`: whether a timeout was removed.
    @discardableResult
    public func persist(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Bool {
        try Self.integer(await run(["PERSIST", key], options: options), "PERSIST") == 1
    }

    /// `PTTL key`: milliseconds left, -1 for a key without a timeout, -2 for a missing key
    /// (Redis's answer).
    public func pttl(_ key: String, options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["PTTL", key], options: options), "PTTL")
    }

    /// `DBSIZE`.
    public func dbsize(options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> Int64 {
        try Self.integer(await run(["DBSIZE"], options: options), "DBSIZE")
    }

    /// `SCAN cursor [MATCH pattern] [COUNT n]`: the next cursor (0: done) and a batch of keys.
    public func scan(cursor: UInt64 = 0, match pattern: String? = nil, count: Int? = nil,
                     options: CallOptions = CallOptions()) async throws(UnderstudyClientError) -> (cursor: UInt64, keys: [[UInt8]]) {
        var words = ["SCAN", String(cursor)]
        if let pattern { words += ["MATCH", pattern] }
        if let count { words += ["COUNT", String(count)] }
        let reply = try await run(words, options: options)
        guard case .array(let parts?) = reply, parts.count == 2, case .bulk(let next?) = parts[0],
              let nextCursor = UInt64(String(decoding: next, as: UTF8.self)), case .array(let keys?) = parts[1] else {
            throw Self.unexpected(reply, "SCAN")
        }
        var batch: [[UInt8]] = []
        for key in keys { batch.append(try Self.bulk(key, "SCAN") ?? []) }
        return (nextCursor, batch)
    }
}
