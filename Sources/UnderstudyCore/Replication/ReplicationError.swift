/// An operating error from the replication core: malformed input from a peer or a damaged
/// persisted file. The message says which field and why, so it can go into an error reply
/// or a log line as it is.
public struct ReplicationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. A struct so that codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The text form of an epoch history is malformed or over a limit.
        public static let malformedHistory = Code("malformedHistory")
        /// The binary form of an epoch history failed its checksum or structure checks.
        public static let corruptHistory = Code("corruptHistory")
        /// A `REPLICATE` handshake has a missing, malformed or out-of-range field.
        public static let malformedHandshake = Code("malformedHandshake")
        /// A `REPLICATE` handshake asks for a protocol version this node does not speak.
        public static let unsupportedProtocolVersion = Code("unsupportedProtocolVersion")
        /// The witness's persisted record is malformed.
        public static let malformedWitnessRecord = Code("malformedWitnessRecord")
        /// A witness request or reply has a missing, malformed or out-of-range field.
        public static let malformedWitnessMessage = Code("malformedWitnessMessage")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
