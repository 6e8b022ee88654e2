public import ArgumentParser
import UnderstudyClient
public import UnderstudyServer

/// `--tls-*` of `understudy server` and `understudy witness`, named as Redis names them.
/// With `--tls-cert-file` and `--tls-key-file` the process's one port speaks only TLS.
struct TLSServerOptions: ParsableArguments {
    @Option(help: "TLS: this process's certificate chain (PEM). With --tls-key-file, --listen speaks only TLS.")
    var tlsCertFile: String?

    @Option(help: "TLS: the private key of --tls-cert-file (PEM). Both are read again on SIGHUP.")
    var tlsKeyFile: String?

    @Option(help: "TLS: CA certificates (PEM) that peers' and clients' certificates must chain to (default: the system's).")
    var tlsCaCertFile: String?

    @Option(help: "TLS: client certificates: no (not asked for), optional (checked if presented), yes (required: mutual TLS).")
    var tlsAuthClients: TLSSettings.ClientAuthentication = .optional

    @Option(help: "TLS: whether the links this process dials (to the peer and the witness) use TLS: yes or no.")
    var tlsReplication: YesOrNo = .yes

    func validate() throws {
        guard (tlsCertFile == nil) == (tlsKeyFile == nil) else {
            throw ValidationError("--tls-cert-file and --tls-key-file go together: TLS needs both the certificate and its key")
        }
        if tlsCertFile == nil, tlsCaCertFile != nil {
            throw ValidationError("--tls-ca-cert-file needs --tls-cert-file and --tls-key-file (TLS is off without them)")
        }
        if tlsAuthClients == .yes, tlsCaCertFile == nil {
            throw ValidationError("--tls-auth-clients yes needs --tls-ca-cert-file: the CA that client certificates must chain to")
        }
    }

    /// The settings, or nil when TLS is off.
    var settings: TLSSettings? {
        guard let tlsCertFile, let tlsKeyFile else { return nil }
        return TLSSettings(certificateFile: tlsCertFile, keyFile: tlsKeyFile, caCertificateFile: tlsCaCertFile,
                           authClients: tlsAuthClients, replication: tlsReplication == .yes)
    }

    /// The contexts, every file read once; nil when TLS is off.
    func contexts() throws -> TLSContexts? {
        guard let settings else { return nil }
        do {
            return try TLSContexts(settings: settings)
        } catch {
            throw ExitMessage("cannot set up TLS: \(error)")
        }
    }
}

/// `--tls`, `--tls-ca-cert-file`, `--tls-cert-file`, `--tls-key-file` of the operator
/// commands (status, switchover, promote, drain), as `redis-cli --tls --cacert --cert --key`.
struct TLSClientOptions: ParsableArguments {
    @Flag(help: "Talk TLS to the nodes and the witness (they run with --tls-cert-file).")
    var tls = false

    @Option(help: "With --tls: CA certificates (PEM) the servers' certificates must chain to (default: the system's).")
    var tlsCaCertFile: String?

    @Option(help: "With --tls: a client certificate (PEM) to present, for servers with --tls-auth-clients yes.")
    var tlsCertFile: String?

    @Option(help: "With --tls: the private key of --tls-cert-file (PEM).")
    var tlsKeyFile: String?

    func validate() throws {
        guard (tlsCertFile == nil) == (tlsKeyFile == nil) else {
            throw ValidationError("--tls-cert-file and --tls-key-file go together")
        }
        if !tls, tlsCaCertFile != nil || tlsCertFile != nil {
            throw ValidationError("--tls-ca-cert-file, --tls-cert-file and --tls-key-file need --tls")
        }
    }

    /// TLS for the command's connections, or nil without `--tls`.
    func clientTLS() throws -> ClientTLS? {
        guard tls else { return nil }
        do {
            return ClientTLS(context: try TLSSetup.clientContext(
                caCertificateFile: tlsCaCertFile, certificateFile: tlsCertFile, keyFile: tlsKeyFile))
        } catch {
            throw ExitMessage("cannot set up TLS: \(error)")
        }
    }
}

/// A `yes`/`no` flag value, as Redis's configuration spells booleans.
enum YesOrNo: String, ExpressibleByArgument, CaseIterable, Sendable {
    case yes, no
}

extension TLSSettings.ClientAuthentication: ExpressibleByArgument {}
