/// Slows down password guessing: after `freeFailures` failed authentications from one
/// address within `windowMilliseconds`, each further AUTH reply to that address is delayed,
/// twice as long each time, up to `maxDelayMilliseconds`. A legitimate client that
/// mistyped once never notices; a guesser gets about one try a second.
///
/// The table of addresses is bounded (`maxAddresses`): when full, the address whose last
/// failure is oldest is forgotten. Time comes in as `nowMilliseconds` (monotonic).
public struct AuthenticationThrottle: Sendable, Equatable {
    public struct Settings: Sendable, Equatable {
        public var freeFailures = 5
        public var windowMilliseconds: Int64 = 60_000
        public var firstDelayMilliseconds: Int64 = 50
        public var maxDelayMilliseconds: Int64 = 1_000
        public var maxAddresses = 4_096

        public init() {}
    }

    struct Record: Sendable, Equatable {
        var failures: Int
        var windowStartMilliseconds: Int64
        var lastFailureMilliseconds: Int64
    }

    public let settings: Settings
    private(set) var records: [String: Record] = [:]

    public init(settings: Settings = Settings()) {
        precondition(settings.maxAddresses > 0 && settings.freeFailures >= 0, "AuthenticationThrottle: invalid settings")
        self.settings = settings
    }

    /// Addresses with failures on record.
    public var trackedAddressCount: Int { records.count }

    /// How long to hold the reply to an authentication attempt from `address` (0: send it
    /// at once). Attempts that succeed are held too, so the delay reveals nothing.
    public func delayMilliseconds(for address: String, nowMilliseconds: Int64) -> Int64 {
        guard let record = records[address], nowMilliseconds - record.windowStartMilliseconds < settings.windowMilliseconds else {
            return 0
        }
        let excess = record.failures - settings.freeFailures
        guard excess >= 0 else { return 0 }
        let shift = min(excess, 30)
        return min(settings.maxDelayMilliseconds, settings.firstDelayMilliseconds << shift)
    }

    /// A failed attempt from `address`.
    public mutating func failed(from address: String, nowMilliseconds: Int64) {
        if var record = records[address] {
            if nowMilliseconds - record.windowStartMilliseconds >= settings.windowMilliseconds {
                record = Record(failures: 0, windowStartMilliseconds: nowMilliseconds, lastFailureMilliseconds: nowMilliseconds)
            }
            record.failures += 1
            record.lastFailureMilliseconds = nowMilliseconds
            records[address] = record
            return
        }
        forgetExpired(nowMilliseconds: nowMilliseconds)
        if records.count >= settings.maxAddresses, let oldest = records.min(by: { $0.value.lastFailureMilliseconds < $1.value.lastFailureMilliseconds }) {
            records[oldest.key] = nil
        }
        records[address] = Record(failures: 1, windowStartMilliseconds: nowMilliseconds, lastFailureMilliseconds: nowMilliseconds)
    }

    /// A successful attempt from `address`: its failures are forgiven.
    public mutating func succeeded(from address: String) {
        records[address] = nil
    }

    /// Drops the records whose window has ended.
    public mutating func forgetExpired(nowMilliseconds: Int64) {
        records = records.filter { nowMilliseconds - $0.value.windowStartMilliseconds < settings.windowMilliseconds }
    }
}
