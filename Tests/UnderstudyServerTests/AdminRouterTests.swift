import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct AdminRouterTests {
    static func primary() -> AdminSnapshot {
        var snapshot = AdminSnapshot(name: "a:1", isWitness: false, status: .running, role: "primary", epoch: 3, uptimeSeconds: 9)
        snapshot.acceptsWrites = true
        snapshot.lagBytes = 0
        snapshot.maxLagOnFailoverBytes = 1 << 20
        return snapshot
    }

    static func standby(lagBytes: Int64? = nil, lagRecords: Int64 = 0, lagMilliseconds: Int64 = 0, streaming: Bool = true) -> AdminSnapshot {
        var snapshot = AdminSnapshot(name: "b:2", isWitness: false, status: .running, role: "standby", epoch: 3, uptimeSeconds: 9)
        snapshot.isStreamingStandby = streaming
        snapshot.lagBytes = lagBytes
        snapshot.lagRecords = lagRecords
        snapshot.lagMilliseconds = lagMilliseconds
        snapshot.maxLagOnFailoverBytes = 1 << 20
        return snapshot
    }

    private func request(_ uri: String, method: String = "GET", witness: Bool = false) throws -> AdminRouter.Request {
        try AdminRouter.parse(method: method, uri: uri, isWitness: witness).get()
    }

    private func status(_ uri: String, _ snapshot: AdminSnapshot) throws -> Int {
        AdminRouter.respond(try request(uri), snapshot: snapshot).status
    }

    private func failure(_ uri: String, method: String = "GET", witness: Bool = false) -> Int? {
        if case .failure(let response) = AdminRouter.parse(method: method, uri: uri, isWitness: witness) { return response.status }
        return nil
    }

    @Test func lagTakesBytesOrOperatorSizes() throws {
        #expect(try request("/replica?lag=16kB").maxLagBytes == 16 << 10)
        #expect(try request("/replica?lag=64MB").maxLagBytes == 64 << 20)
        #expect(try request("/replica?lag=1GB").maxLagBytes == 1 << 30)
        #expect(try request("/replica?lag=4096").maxLagBytes == 4096)
        #expect(try request("/replica?max_lag_ms=250").maxLagMilliseconds == 250)
        #expect(try request("/replica?lag=16%6bB").maxLagBytes == 16 << 10)
    }

    @Test func badQueryValuesAre400() {
        for uri in ["/replica?lag=lots", "/replica?lag=-1", "/readiness?lag=", "/standby?max_lag_ms=soon", "/replica?max_lag_ms=-5"] {
            #expect(failure(uri) == 400, "\(uri)")
        }
    }

    @Test func unknownPathsAre404AndWrongMethods405() {
        #expect(failure("/nope") == 404)
        #expect(failure("/health", method: "POST") == 405)
        #expect(failure("/health", method: "DELETE") == 405)
        #expect(failure("/switchover", method: "GET") == 405)
        #expect(failure("/health", method: "HEAD") == nil)
    }

    @Test func theWitnessAnswersOnlyItsEndpoints() {
        for uri in ["/health", "/liveness", "/cluster", "/history", "/events", "/metrics"] {
            #expect(failure(uri, witness: true) == nil, "\(uri)")
        }
        for uri in ["/primary", "/replica", "/readiness", "/read-only"] {
            #expect(failure(uri, witness: true) == 404, "\(uri)")
        }
        #expect(failure("/switchover", method: "POST", witness: true) == 404)
    }

    @Test func onlyThePrimaryHoldingItsLeaseIsPrimary() throws {
        for uri in ["/primary", "/read-write", "/", "/read-only", "/readiness", "/health"] {
            #expect(try status(uri, Self.primary()) == 200, "\(uri)")
        }
        #expect(try status("/replica", Self.primary()) == 503)
        #expect(try status("/standby", Self.primary()) == 503)
        var lapsed = Self.primary()
        lapsed.acceptsWrites = false
        #expect(try status("/primary", lapsed) == 503)
        #expect(try status("/health", lapsed) == 200)  // the process serves
    }

    @Test func aStreamingStandbyIsAReplicaWithinItsBounds() throws {
        #expect(try status("/replica", Self.standby()) == 200)
        #expect(try status("/standby", Self.standby()) == 200)
        #expect(try status("/read-only", Self.standby()) == 200)
        #expect(try status("/primary", Self.standby()) == 503)
        #expect(try status("/replica", Self.standby(streaming: false)) == 503)
        #expect(try status("/replica?max_lag_ms=100", Self.standby(lagMilliseconds: 300)) == 503)
        #expect(try status("/replica?max_lag_ms=500", Self.standby(lagMilliseconds: 300)) == 200)
        #expect(try status("/replica?lag=1kB", Self.standby(lagBytes: 4096)) == 503)
        #expect(try status("/replica?lag=16kB", Self.standby(lagBytes: 4096)) == 200)
        // Records outstanding of unknown size are not within a byte bound; none outstanding is.
        #expect(try status("/replica?lag=64MB", Self.standby(lagRecords: 3)) == 503)
        #expect(try status("/replica?lag=0", Self.standby(lagRecords: 0)) == 200)
        #expect(try status("/readiness", Self.standby(lagRecords: 3)) == 503)
        #expect(try status("/readiness", Self.standby()) == 200)
    }

    @Test func startingDrainingAndFencedAre503WithTheSameBody() throws {
        for state in [AdminSnapshot.Status.starting, .draining, .fenced] {
            var snapshot = Self.primary()
            snapshot.status = state
            let response = AdminRouter.respond(try request("/health"), snapshot: snapshot)
            #expect(response.status == 503)
            #expect(String(decoding: response.body, as: UTF8.self).contains("\"status\":\"\(state.rawValue)\""))
            #expect(try status("/primary", snapshot) == 503)
        }
    }

    @Test func headIsMarkedSoTheBodyIsLeftOut() throws {
        #expect(try request("/health", method: "HEAD").isHead)
        #expect(try !request("/health").isHead)
    }
}
