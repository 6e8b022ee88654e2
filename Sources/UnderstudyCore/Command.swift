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
        self.name = String(decoding: arguments[0].map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    public init(_ words: String...) {
        self.init(arguments: words.map { Array($0.utf8) })
    }
}
