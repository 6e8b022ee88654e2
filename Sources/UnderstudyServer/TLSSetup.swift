import Glibc
public import NIOSSL

/// The one place TLS contexts are made, for servers (the client port, the witness port) and
/// for the connections this process dials (replication, witness links, FENCE, operator
/// commands, `UnderstudyClient`), so that both sides agree on what is verified:
///
/// - Dialling out: the peer's certificate MUST chain to the CA (`--tls-ca-cert-file`, or
///   the system trust store) and MUST name the address dialled — a DNS SAN for a host name,
///   an IP SAN for an IP literal. TLS 1.2 at least.
/// - Serving: the certificate and key are presented; a client's certificate is asked for
///   and checked against the CA as `--tls-auth-clients` says. A client certificate's name is
///   not checked (clients have no address to check it against), only its chain.
public enum TLSSetup {
    /// The context for a listening port.
    public static func serverContext(_ settings: TLSSettings) throws(TLSSetupError) -> NIOSSLContext {
        let identity = try loadIdentity(certificateFile: settings.certificateFile, keyFile: settings.keyFile)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.chain.map { .certificate($0) }, privateKey: .privateKey(identity.key))
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caCertificateFile {
            configuration.trustRoots = .certificates(try loadCertificates(caFile, flag: "--tls-ca-cert-file"))
        }
        switch settings.authClients {
        case .no: configuration.certificateVerification = .none
        case .optional: configuration.certificateVerification = .optionalVerification
        case .yes: configuration.certificateVerification = .noHostnameVerification
        }
        return try makeContext(configuration, settings: settings)
    }

    /// The context for connections this process dials. A node presents its own certificate
    /// (so a peer with `--tls-auth-clients yes` lets it in); an operator tool presents one
    /// only when given `--tls-cert-file` and `--tls-key-file`.
    public static func clientContext(caCertificateFile: String?, certificateFile: String?, keyFile: String?) throws(TLSSetupError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caCertificateFile {
            configuration.trustRoots = .certificates(try loadCertificates(caCertificateFile, flag: "--tls-ca-cert-file"))
        }
        if let certificateFile, let keyFile {
            let identity = try loadIdentity(certificateFile: certificateFile, keyFile: keyFile)
            configuration.certificateChain = identity.chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(identity.key)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError(.invalidCombination, flag: "--tls-cert-file", path: certificateFile ?? "(none)",
                                reason: "cannot make a TLS client context: \(error)")
        }
    }

    /// The client context of a server whose own links dial out.
    public static func clientContext(_ settings: TLSSettings) throws(TLSSetupError) -> NIOSSLContext {
        try clientContext(caCertificateFile: settings.caCertificateFile, certificateFile: settings.certificateFile,
                          keyFile: settings.keyFile)
    }

    private static func makeContext(_ configuration: TLSConfiguration, settings: TLSSettings) throws(TLSSetupError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError(.invalidCombination, flag: "--tls-key-file", path: settings.keyFile,
                                reason: "cannot make a TLS context with the certificate in \(settings.certificateFile): \(error)")
        }
    }

    private static func loadIdentity(certificateFile: String, keyFile: String) throws(TLSSetupError) -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain = try loadCertificates(certificateFile, flag: "--tls-cert-file")
        let keyBytes = try readFile(keyFile, flag: "--tls-key-file")
        do {
            return (chain, try NIOSSLPrivateKey(bytes: keyBytes, format: .pem))
        } catch {
            throw TLSSetupError(.invalidContent, flag: "--tls-key-file", path: keyFile, reason: "not a PEM private key (\(error))")
        }
    }

    private static func loadCertificates(_ path: String, flag: String) throws(TLSSetupError) -> [NIOSSLCertificate] {
        let bytes = try readFile(path, flag: flag)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSSetupError(.invalidContent, flag: flag, path: path, reason: "not a PEM certificate (\(error))")
        }
        guard !certificates.isEmpty else {
            throw TLSSetupError(.invalidContent, flag: flag, path: path, reason: "holds no PEM certificate")
        }
        return certificates
    }

    /// The whole file; certificate and key files are small (a chain is a few KiB).
    private static func readFile(_ path: String, flag: String) throws(TLSSetupError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            let code = errno
            throw TLSSetupError(.unreadableFile, flag: flag, path: path, reason: "cannot read it: \(String(cString: strerror(code)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes += chunk[..<count]
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else {
            throw TLSSetupError(.unreadableFile, flag: flag, path: path, reason: "cannot read it: \(String(cString: strerror(errno)))")
        }
        return bytes
    }
}
