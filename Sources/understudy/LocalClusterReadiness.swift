import UnderstudyCore
import UnderstudyClient
import UnderstudyServer

/// Waits until one node of a local cluster takes writes: it says `understudy_role:primary`
/// and holds a lease (`understudy_lease_remaining_ms` > 0) in `INFO replication`.
enum LocalClusterReadiness {
    struct Outcome: Sendable {
        /// Each node's `understudy_role` at the last poll ("primary", "standby", "undecided"),
        /// by name; "unreachable" when it did not answer.
        var roles: [String: String]
        var ready: Bool
        var elapsedMilliseconds: Int64
    }

    static let pollIntervalMilliseconds: Int64 = 50
    static let requestTimeoutMilliseconds: Int64 = 500

    /// Polls `nodes` until one is a writable primary or `deadlineMilliseconds` pass.
    /// Returns nil when cancelled.
    static func wait(for nodes: [(name: String, address: ListenAddress)], deadlineMilliseconds: Int64, password: String? = nil) async -> Outcome? {
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Int64 {
            let duration = clock.now - start
            return duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
        }
        var roles: [String: String] = [:]
        while !Task.isCancelled {
            var ready = false
            for node in nodes {
                let fields = await replicationFields(node.address, password: password)
                roles[node.name] = fields?["understudy_role"] ?? "unreachable"
                if fields?["understudy_role"] == "primary", let lease = fields?["understudy_lease_remaining_ms"].flatMap({ Int64($0) }), lease > 0 {
                    ready = true
                }
            }
            if ready || elapsed() >= deadlineMilliseconds {
                return Outcome(roles: roles, ready: ready, elapsedMilliseconds: elapsed())
            }
            do {
                try await Task.sleep(for: .milliseconds(pollIntervalMilliseconds))
            } catch is CancellationError {
                return nil
            } catch {
                fatalError("Internal inconsistency: Task.sleep failed with \(error)")
            }
        }
        return nil
    }

    /// The node's `INFO replication` fields, or nil while it does not answer (not started
    /// yet, or still recovering): during startup that is expected, not an error.
    private static func replicationFields(_ address: ListenAddress, password: String?) async -> [String: String]? {
        let replies: [Reply]
        do {
            replies = try await NodeRequest.send([Command("INFO", "replication")], to: address, timeoutMilliseconds: requestTimeoutMilliseconds,
                                                password: password)
        } catch {
            return nil
        }
        guard case .bulk(let bytes?)? = replies.first else { return nil }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}
