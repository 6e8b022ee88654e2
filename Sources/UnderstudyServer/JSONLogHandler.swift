public import Logging
import Glibc

/// `--log-format json`: every log line as one JSON object on stderr (timestamp, level,
/// label, message, metadata), for log shippers that parse rather than grep.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Self.line(
            unixMilliseconds: WallClock.nowMilliseconds(), level: event.level, label: label,
            message: "\(event.message)", metadata: metadata.merging(event.metadata ?? [:]) { _, new in new })
        var text = line.text
        text += "\n"
        // One write(2) per line, so lines from several threads never interleave.
        text.withUTF8 { bytes in
            _ = Glibc.write(2, bytes.baseAddress, bytes.count)
        }
    }

    /// One line's object (exposed for tests).
    static func line(unixMilliseconds: Int64, level: Logger.Level, label: String, message: String,
                     metadata: Logger.Metadata) -> JSONText {
        .object([
            ("timestamp", .string(Self.iso8601(unixMilliseconds: unixMilliseconds))),
            ("level", .string(level.rawValue)),
            ("label", .string(label)),
            ("message", .string(message)),
            ("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string("\($0.value)")) })),
        ])
    }

    /// `2026-12-06T18:04:19.123Z` (UTC), without Foundation.
    static func iso8601(unixMilliseconds: Int64) -> String {
        var seconds = time_t(unixMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(unixMilliseconds % 1000)
        let fraction = millis < 10 ? "00\(millis)" : (millis < 100 ? "0\(millis)" : "\(millis)")
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
