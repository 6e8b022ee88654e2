/// The TLS flags of a server or witness, as Redis names them (`--tls-cert-file`, …): files
/// to read at start and on every reload, and what to ask of the other side.
///
/// With TLS configured the process's one port (`--listen`) speaks only TLS: nodes and the
/// witness name each other by that one `HOST:PORT`, so a second, plaintext port would only
/// be a way around the encryption. See docs/security.md, "TLS".
public struct TLSSettings: Sendable, Equatable {
    /// `--tls-auth-clients`: whether a connecting client must present a certificate.
    public enum ClientAuthentication: String, Sendable, CaseIterable {
        /// No certificate is asked for.
        case no
        /// One is asked for; a client without one is let in, a presented one MUST verify
        /// against the CA (the default: `redis-cli --tls --cacert` works, nodes that present
        /// theirs are checked).
        case optional
        /// Mutual TLS: a client without a certificate that verifies against the CA is refused
        /// in the handshake.
        case yes
    }

    /// `--tls-cert-file`: this process's certificate chain (PEM, leaf first).
    public var certificateFile: String
    /// `--tls-key-file`: the private key of that certificate (PEM).
    public var keyFile: String
    /// `--tls-ca-cert-file`: the CA certificates (PEM) that peers' and clients' certificates
    /// MUST chain to; nil: the system's trust store.
    public var caCertificateFile: String?
    public var authClients: ClientAuthentication
    /// `--tls-replication`: the links this process dials (standby → primary, node → witness,
    /// FENCE to the peer) use TLS too.
    public var replication: Bool

    public init(certificateFile: String, keyFile: String, caCertificateFile: String? = nil,
                authClients: ClientAuthentication = .optional, replication: Bool = true) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.caCertificateFile = caCertificateFile
        self.authClients = authClients
        self.replication = replication
    }
}
