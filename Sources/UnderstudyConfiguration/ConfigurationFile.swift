import Yams

/// A config file's settings: a YAML mapping from keys (flag names without `--`) to values.
/// JSON is YAML too, so a `.json` file reads the same way.
///
/// Values are kept as the text written, never converted: they reach the command through
/// ArgumentParser, exactly as if typed after `--key`, so a file cannot accept what the
/// command line would refuse, nor the reverse.
public struct ConfigurationFile: Sendable {
    public struct Entry: Hashable, Sendable {
        public var key: String
        /// One value, or several for a list (only a repeating option takes a list).
        public var values: [String]
        /// 1-based, for messages.
        public var line: Int
    }

    public var path: String
    public var entries: [Entry]

    /// Parses `text`, the content of `path`.
    /// - Throws: `ConfigurationError` naming the file, and the key and line where there is one
    ///   (a key given twice is refused by the YAML parser itself).
    public init(path: String, text: String) throws {
        self.path = path
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError("config file \(path): not valid YAML or JSON: \(error)")
        }
        guard let root else {
            entries = []
            return
        }
        guard case .mapping(let mapping) = root else {
            throw ConfigurationError("config file \(path): must be a mapping of keys to values, such as 'listen: 127.0.0.1:6380'")
        }
        var entries: [Entry] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw ConfigurationError("config file \(path): line \(keyNode.mark?.line ?? 0): a key must be a plain name")
            }
            let key = keyScalar.string
            let line = keyNode.mark?.line ?? 0
            entries.append(Entry(key: key, values: try Self.values(of: valueNode, key: key, path: path), line: line))
        }
        self.entries = entries
    }

    private static func values(of node: Node, key: String, path: String) throws -> [String] {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                throw ConfigurationError("config file \(path): key '\(key)' has no value (leave the key out to use the default)")
            }
            return [scalar.string]
        case .sequence(let sequence):
            return try sequence.map { element in
                guard case .scalar(let scalar) = element else {
                    throw ConfigurationError("config file \(path): key '\(key)': a list may hold only plain values")
                }
                return scalar.string
            }
        case .mapping, .alias:
            throw ConfigurationError("config file \(path): key '\(key)' must be a plain value, not a mapping")
        }
    }
}
