/// Configuration that cannot be used; the message names the key, where it came from and why.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }

    public init(_ message: String) {
        self.message = message
    }
}
