/// One client request: the command name and its arguments, exactly as received.
public struct Command: Sendable, Equatable {
    /// All arguments, the command name first.
    public let arguments: [[UInt8]]
    /// The command name folded to lower case (ASCII), as used for lookup. Computed once:
    /// the dispatcher and the keyspace both look at it for every request.
    public let name: String

    public init(arguments: [[UInt8]]) {
        precondition(!arguments.isEmpty, "a command has at least its name")
        self.arguments = arguments
        self.name = Self.lowercasedName(arguments[0])
    }

    public init(_ words: String...) {
        self.init(arguments: words.map { Array($0.utf8) })
    }

    /// `bytes` with ASCII upper case folded to lower case, as a String (invalid UTF-8 is
    /// repaired, as `String(decoding:as:)` does). Written in place, with no intermediate
    /// array: a name of up to 15 bytes (every known command's) is a small string, so this
    /// allocates nothing — it runs for every request.
    static func lowercasedName(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count) { name in
            for (index, byte) in bytes.enumerated() {
                name[index] = (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte + 32 : byte
            }
            return bytes.count
        }
    }
}
