public import Logging
public import NIOSSL
import Synchronization
public import UnderstudyClient

/// A process's TLS contexts, made from `TLSSettings`' files at start and again on `reload()`
/// (SIGHUP), so that rotated certificate and key files are used without a restart.
///
/// Only new connections (and new handshakes) take the reloaded contexts; connections already
/// open keep the certificate they were made with. A reload that fails — a missing file, a
/// half-written key, a key that is not the certificate's — changes nothing: the old contexts
/// stay in use and the error is returned (and logged by the caller).
public final class TLSContexts: Sendable {
    public let settings: TLSSettings
    private let current: Mutex<(server: NIOSSLContext, client: NIOSSLContext)>

    /// Reads every file once; a process MUST NOT start serving without its TLS.
    public init(settings: TLSSettings) throws(TLSSetupError) {
        self.settings = settings
        current = Mutex((try TLSSetup.serverContext(settings), try TLSSetup.clientContext(settings)))
    }

    /// The context for the next accepted connection.
    public var serverContext: NIOSSLContext { current.withLock { $0.server } }

    /// The context for the next dialled link.
    public var clientContext: NIOSSLContext { current.withLock { $0.client } }

    /// TLS for the links this process dials, or nil with `--tls-replication no`.
    public var linkTLS: ClientTLS? {
        guard settings.replication else { return nil }
        return ClientTLS { [self] in clientContext }
    }

    /// Makes both contexts again from the files; on any error keeps the old ones and throws.
    public func reload() throws(TLSSetupError) {
        let server = try TLSSetup.serverContext(settings)
        let client = try TLSSetup.clientContext(settings)
        current.withLock { $0 = (server, client) }
    }

    /// `reload()`, logged: a notice on success, an error (the old certificate stays) on failure.
    public func reload(logger: Logger, reason: String) {
        do {
            try reload()
            logger.notice("TLS certificate and key reloaded; new connections use them", metadata: [
                "reason": "\(reason)", "cert": "\(settings.certificateFile)",
            ])
        } catch {
            logger.error("TLS reload failed; the previous certificate stays in use", metadata: [
                "reason": "\(reason)", "error": "\(error)",
            ])
        }
    }
}
