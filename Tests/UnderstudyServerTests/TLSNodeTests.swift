import Testing
import UnderstudyClient
import UnderstudyCore
import UnderstudyServer
import UnderstudyTestKit

/// A node with `configuration.tls` serves only TLS, and `NodeRequest` (the connection the
/// operator commands, FENCE and `UnderstudyClient` use) talks to it with a `ClientTLS`.
/// A failed handshake is "not sent" (`.unreachable`), never an unknown outcome.
@Suite struct TLSNodeTests {
    @Test func nodeRequest_withTheCA_setsAndGets() async throws {
        try await withTLSNode { address, files in
            let tls = ClientTLS(context: try TLSSetup.clientContext(
                caCertificateFile: files.certificate, certificateFile: nil, keyFile: nil))
            let replies = try await NodeRequest.send([Command("SET", "k", "v"), Command("GET", "k")], to: address, tls: tls)
            #expect(replies == [.simple("OK"), .bulk(Array("v".utf8))])
        }
    }

    @Test func nodeRequest_untrustedCertificate_isUnreachable_notIndeterminate() async throws {
        let stranger = try TemporaryDirectory()
        let strangerFiles = try TestCertificates(directory: stranger.path, commonName: "another CA")
        try await withTLSNode { address, _ in
            let tls = ClientTLS(context: try TLSSetup.clientContext(
                caCertificateFile: strangerFiles.certificate, certificateFile: nil, keyFile: nil))
            let error = await #expect(throws: UnderstudyClientError.self) {
                try await NodeRequest.send([Command("SET", "k", "v")], to: address, tls: tls)
            }
            #expect(error?.code == .unreachable)
        }
    }

    @Test func nodeRequest_inPlaintext_getsNoReply() async throws {
        try await withTLSNode { address, _ in
            let error = await #expect(throws: UnderstudyClientError.self) {
                try await NodeRequest.send([Command("PING")], to: address, timeoutMilliseconds: 2_000)
            }
            #expect(error != nil)
        }
    }

    @Test func isIPLiteral_tellsAddressesFromNames() {
        #expect(ClientTLS.isIPLiteral("127.0.0.1"))
        #expect(ClientTLS.isIPLiteral("::1"))
        #expect(!ClientTLS.isIPLiteral("node-a.internal"))
        #expect(!ClientTLS.isIPLiteral("localhost"))
    }

    /// Runs `body` against a node serving TLS with a fresh self-signed certificate (IP SAN
    /// 127.0.0.1), given the node's address and the certificate files.
    private func withTLSNode(_ body: (NetworkAddress, TestCertificates) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "node")
        var configuration = TestNode.configuration(dataDirectory: directory.path + "/data")
        configuration.tls = try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key))
        try await TestNode.run(configuration) { node in
            try await body(NetworkAddress(host: "127.0.0.1", port: node.port), files)
        }
    }
}
