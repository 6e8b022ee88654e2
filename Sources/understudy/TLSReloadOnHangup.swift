import Logging
import ServiceLifecycle
import UnderstudyServer
import UnixSignals

/// Reloads the TLS certificate and key files on every SIGHUP (as nginx and HAProxy reload
/// theirs), until the process shuts down: new connections then use the new files. A failed
/// reload keeps the old certificate and logs an error (`TLSContexts.reload`).
///
/// MUST be added to the service group with `successTerminationBehavior: .ignore`: it ends on
/// graceful shutdown, and that must not cut short the drain of the services beside it.
struct TLSReloadOnHangup: Service {
    let contexts: TLSContexts
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            contexts.reload(logger: logger, reason: "SIGHUP")
        }
    }

    /// The entry for a service group: none when TLS is off.
    static func entry(_ contexts: TLSContexts?, logger: Logger) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        guard let contexts else { return [] }
        return [.init(service: TLSReloadOnHangup(contexts: contexts, logger: logger), successTerminationBehavior: .ignore)]
    }
}
