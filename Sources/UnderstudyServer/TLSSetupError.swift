/// A TLS file or setting that cannot be used: names the flag and the path, so that an
/// operator who mistyped one sees which.
public struct TLSSetupError: Error, CustomStringConvertible, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// The file does not exist or cannot be read.
        public static let unreadableFile = Code(name: "unreadable file")
        /// The file was read but holds no usable PEM certificate or key.
        public static let invalidContent = Code(name: "invalid content")
        /// The files are each fine but do not make a TLS context (a key that is not the
        /// certificate's, say).
        public static let invalidCombination = Code(name: "invalid combination")
        public var description: String { name }
    }

    public var code: Code
    /// The flag that named the file, e.g. `--tls-cert-file`.
    public var flag: String
    public var path: String
    public var reason: String

    public init(_ code: Code, flag: String, path: String, reason: String) {
        self.code = code
        self.flag = flag
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(flag) \(path): \(reason)" }
}
