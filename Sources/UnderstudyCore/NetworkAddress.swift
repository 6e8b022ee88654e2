/// A `HOST:PORT` (or `[IPv6]:PORT`) address: a node's `--listen`, a seed, a peer named in a
/// redirect. One parser for the server, the tools and the client.
public struct NetworkAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the last colon separates the port; brackets as in `[::1]:6380` are
    /// removed); nil when the host is empty or the port is not 0–65535 (0: any free port).
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
