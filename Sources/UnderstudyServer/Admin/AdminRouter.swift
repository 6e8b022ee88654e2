import UnderstudyCore

/// The admin port's routes and answers, as pure functions of the request and a snapshot,
/// so every status code can be tested without a socket (Patroni's REST API semantics;
/// docs/operations.md "Admin HTTP port" lists them).
public enum AdminRouter {
    /// What a request asks for.
    public enum Endpoint: Hashable, Sendable {
        case health, liveness, readiness, primary, standby, readOnly, cluster, history, events, metrics, switchover
    }

    /// A parsed request: its endpoint, whether the body is to be left out (HEAD), and the
    /// lag bounds of its query.
    public struct Request: Hashable, Sendable {
        public var endpoint: Endpoint
        public var isHead: Bool
        public var maxLagBytes: Int64?
        public var maxLagMilliseconds: Int64?
    }

    /// An answer: status code and body.
    public struct Response: Error, Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]

        static func json(_ status: Int, _ value: JSONText) -> Response {
            Response(status: status, contentType: "application/json", body: Array((value.text + "\n").utf8))
        }

        static func error(_ status: Int, _ message: String) -> Response {
            json(status, .object([("error", .string(message))]))
        }
    }

    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    private static let getPaths: [String: Endpoint] = [
        "/health": .health, "/liveness": .liveness, "/readiness": .readiness,
        "/primary": .primary, "/read-write": .primary, "/": .primary, "/master": .primary, "/leader": .primary,
        "/standby": .standby, "/replica": .standby, "/read-only": .readOnly,
        "/cluster": .cluster, "/history": .history, "/events": .events, "/metrics": .metrics,
    ]
    /// What the witness answers (it has no role a load balancer routes to).
    private static let witnessEndpoints: Set<Endpoint> = [.health, .liveness, .cluster, .history, .events, .metrics]

    /// Parses method and URI: the request, or the error response (404 unknown path, 405
    /// wrong method, 400 a bad query value).
    public static func parse(method: String, uri: String, isWitness: Bool) -> Result<Request, Response> {
        let (path, query) = split(uri)
        let endpoint: Endpoint
        if path == "/switchover" {
            guard !isWitness else { return .failure(.error(404, "no such endpoint on the witness: \(path)")) }
            guard method == "POST" else { return .failure(.error(405, "\(path) takes POST")) }
            endpoint = .switchover
        } else if let found = getPaths[path] {
            guard !isWitness || witnessEndpoints.contains(found) else {
                return .failure(.error(404, "no such endpoint on the witness: \(path)"))
            }
            guard method == "GET" || method == "HEAD" else { return .failure(.error(405, "\(path) takes GET or HEAD")) }
            endpoint = found
        } else {
            return .failure(.error(404, "no such endpoint: \(path)"))
        }
        var request = Request(endpoint: endpoint, isHead: method == "HEAD")
        for (name, value) in query {
            switch name {
            case "lag":
                guard let bytes = ByteSizeText.bytes(value) else {
                    return .failure(.error(400, "lag must be a size such as 1048576, 16kB or 64MB (got '\(value)')"))
                }
                request.maxLagBytes = bytes
            case "max_lag_ms":
                guard let milliseconds = Int64(value), milliseconds >= 0 else {
                    return .failure(.error(400, "max_lag_ms must be a whole number of milliseconds (got '\(value)')"))
                }
                request.maxLagMilliseconds = milliseconds
            default:
                continue  // Patroni ignores parameters it does not know; so do we
            }
        }
        return .success(request)
    }

    /// The answer to a GET endpoint from the process's snapshot.
    public static func respond(_ request: Request, snapshot: AdminSnapshot) -> Response {
        let healthy = snapshot.status == .running
        switch request.endpoint {
        case .health:
            return .json(healthy ? 200 : 503, snapshot.healthJSON)
        case .liveness:
            return .json(200, .object([("status", .string(snapshot.status.rawValue)), ("loop", .string("answering"))]))
        case .readiness:
            let bound = request.maxLagBytes ?? snapshot.maxLagOnFailoverBytes
            let ready = healthy && (snapshot.acceptsWrites || standbyWithin(snapshot, bytes: bound, milliseconds: request.maxLagMilliseconds))
            return .json(ready ? 200 : 503, snapshot.healthJSON)
        case .primary:
            return .json(healthy && snapshot.acceptsWrites ? 200 : 503, snapshot.healthJSON)
        case .standby:
            let ok = healthy && standbyWithin(snapshot, bytes: request.maxLagBytes, milliseconds: request.maxLagMilliseconds)
            return .json(ok ? 200 : 503, snapshot.healthJSON)
        case .readOnly:
            let ok = healthy && (snapshot.acceptsWrites
                || standbyWithin(snapshot, bytes: request.maxLagBytes, milliseconds: request.maxLagMilliseconds))
            return .json(ok ? 200 : 503, snapshot.healthJSON)
        case .cluster:
            return .json(200, snapshot.clusterJSON)
        case .history:
            return .json(200, snapshot.historyJSON)
        case .events:
            return .json(200, snapshot.eventsJSON)
        case .metrics, .switchover:
            return .error(500, "\(request.endpoint) is not answered from a snapshot")
        }
    }

    /// A streaming standby within the bounds. A standby does not know the byte size of
    /// records it has not received: with a byte bound and records outstanding of unknown
    /// size it is not counted as within it (a load balancer errs towards the fresher node).
    static func standbyWithin(_ snapshot: AdminSnapshot, bytes: Int64?, milliseconds: Int64?) -> Bool {
        guard snapshot.isStreamingStandby else { return false }
        if let bytes {
            if let lag = snapshot.lagBytes {
                guard lag <= bytes else { return false }
            } else if (snapshot.lagRecords ?? 0) > 0 {
                return false
            }
        }
        if let milliseconds, (snapshot.lagMilliseconds ?? 0) > milliseconds { return false }
        return true
    }

    /// The path and the decoded query parameters of a request URI.
    static func split(_ uri: String) -> (path: String, query: [(String, String)]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri.isEmpty ? "/" : uri, []) }
        let path = String(uri[..<mark])
        let pairs = uri[uri.index(after: mark)...].split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (percentDecoded(String(parts[0])), parts.count > 1 ? percentDecoded(String(parts[1])) : "")
        }
        return (path.isEmpty ? "/" : path, pairs)
    }

    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
