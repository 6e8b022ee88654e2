/// The options of SET (`NX XX GET KEEPTTL EX PX EXAT PXAT`) and GETEX (`EX PX EXAT PXAT
/// PERSIST`), parsed exactly like Redis 7's `parseExtendedStringArgumentsOrReply`: an
/// option may repeat (the last expiry wins) but may not conflict with another one.
struct StringSetOptions {
    enum Command {
        case set
        case getex
    }

    struct Flags: OptionSet {
        let rawValue: UInt16
        static let onlyIfMissing = Flags(rawValue: 1 << 0)  // NX
        static let onlyIfPresent = Flags(rawValue: 1 << 1)  // XX
        static let get = Flags(rawValue: 1 << 2)
        static let keepTimeToLive = Flags(rawValue: 1 << 3)
        static let persist = Flags(rawValue: 1 << 4)
        static let relativeSeconds = Flags(rawValue: 1 << 5)  // EX
        static let relativeMilliseconds = Flags(rawValue: 1 << 6)  // PX
        static let absoluteSeconds = Flags(rawValue: 1 << 7)  // EXAT
        static let absoluteMilliseconds = Flags(rawValue: 1 << 8)  // PXAT
        static let anyExpiry: Flags = [.relativeSeconds, .relativeMilliseconds, .absoluteSeconds, .absoluteMilliseconds]
    }

    var flags: Flags = []
    /// The expiry argument of EX/PX/EXAT/PXAT, unparsed.
    var expiryArgument: [UInt8]?

    init(_ arguments: [[UInt8]], from start: Int, command: Command) throws(CommandError) {
        var index = start
        while index < arguments.count {
            let option = arguments[index]
            let hasNext = index + 1 < arguments.count
            let isSet = command == .set
            if isSet && Keyspace.matchesWord(option, "nx") && !flags.contains(.onlyIfPresent) {
                flags.insert(.onlyIfMissing)
            } else if isSet && Keyspace.matchesWord(option, "xx") && !flags.contains(.onlyIfMissing) {
                flags.insert(.onlyIfPresent)
            } else if isSet && Keyspace.matchesWord(option, "get") {
                flags.insert(.get)
            } else if isSet && Keyspace.matchesWord(option, "keepttl") && flags.isDisjoint(with: [.persist, .anyExpiry]) {
                flags.insert(.keepTimeToLive)
            } else if !isSet && Keyspace.matchesWord(option, "persist")
                && flags.isDisjoint(with: [.keepTimeToLive, .anyExpiry]) {
                flags.insert(.persist)
            } else if hasNext, let expiryFlag = Self.expiryFlag(option),
                flags.isDisjoint(with: Flags.anyExpiry.subtracting(expiryFlag).union([.keepTimeToLive, .persist])) {
                flags.insert(expiryFlag)
                expiryArgument = arguments[index + 1]
                index += 1
            } else {
                throw .syntax
            }
            index += 1
        }
    }

    private static func expiryFlag(_ option: [UInt8]) -> Flags? {
        if Keyspace.matchesWord(option, "ex") { return .relativeSeconds }
        if Keyspace.matchesWord(option, "px") { return .relativeMilliseconds }
        if Keyspace.matchesWord(option, "exat") { return .absoluteSeconds }
        if Keyspace.matchesWord(option, "pxat") { return .absoluteMilliseconds }
        return nil
    }

    var hasAbsoluteExpiry: Bool { !flags.isDisjoint(with: [.absoluteSeconds, .absoluteMilliseconds]) }

    /// The absolute expiry (Unix ms) the options ask for, or `nil` for none.
    func expireAtMilliseconds(nowMilliseconds: Int64, commandName: String) throws(CommandError) -> Int64? {
        guard let expiryArgument else { return nil }
        let unit: ExpiryUnit = flags.isDisjoint(with: [.relativeSeconds, .absoluteSeconds]) ? .milliseconds : .seconds
        return try Self.expireAtMilliseconds(
            expiryArgument, unit: unit, relative: !hasAbsoluteExpiry,
            nowMilliseconds: nowMilliseconds, commandName: commandName
        )
    }

    /// Redis's `getExpireMillisecondsOrReply`: the time must be positive, must not
    /// overflow when converted to milliseconds or made absolute.
    static func expireAtMilliseconds(
        _ argument: [UInt8], unit: ExpiryUnit, relative: Bool, nowMilliseconds: Int64, commandName: String
    ) throws(CommandError) -> Int64 {
        guard let value = RedisNumber.parseInt64(argument) else { throw .notAnInteger }
        guard value > 0, unit == .milliseconds || value <= Int64.max / 1000 else {
            throw .invalidExpireTime(commandName)
        }
        var milliseconds = unit == .seconds ? value * 1000 : value
        if relative { milliseconds = milliseconds &+ nowMilliseconds }  // C wraps; caught below
        guard milliseconds > 0 else { throw .invalidExpireTime(commandName) }
        return milliseconds
    }
}
