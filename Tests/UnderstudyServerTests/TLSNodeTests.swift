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
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "node")
        var configuration = TestNode.configuration(dataDirectory: directory.path + "/data")
        configuration.tls = try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key))
        let tls = ClientTLS(context: try TLSSetup.clientContext(
            caCertificateFile: files.certificate, certificateFile: nil, keyFile: nil))
        try await TestNode.run(configuration) { node in
            let address = NetworkAddress(host: "127.0.0.1", port: node.port)
            let replies = try await NodeRequest.send([Command("SET", "k", "v"), Command("GET", "k")], to: address, tls: tls)
            #expect(replies == [.simple("OK"), .bulk(Array("v".utf8))])
        }
    }

    @Test func nodeRequest_untrustedCertificate_isUnreachable_notIndeterminate() async throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "node")
        let stranger = try TemporaryDirectory()
        let strangerFiles = try TestCertificates(directory: stranger.path, commonName: "another CA")
        var configuration = TestNode.configuration(dataDirectory: directory.path + "/data")
        configuration.tls = try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key))
        let tls = ClientTLS(context: try TLSSetup.clientContext(
            caCertificateFile: strangerFiles.certificate, certificateFile: nil, keyFile: nil))
        try await TestNode.run(configuration) { node in
            let address = NetworkAddress(host: "127.0.0.1", port: node.port)
            let error = await #expect(throws: UnderstudyClientError.self) {
                try await NodeRequest.send([Command("SET", "k", "v")], to: address, tls: tls)
            }
            #expect(error?.code == .unreachable)
            let plaintext = await #expect(throws: UnderstudyClientError.self) {
                try await NodeRequest.send([Command("PING")], to: address, timeoutMilliseconds: 2_000)
            }
            #expect(plaintext != nil)
        }
    }

    @Test func isIPLiteral_tellsAddressesFromNames() {
        #expect(ClientTLS.isIPLiteral("127.0.0.1"))
        #expect(ClientTLS.isIPLiteral("::1"))
        #expect(!ClientTLS.isIPLiteral("node-a.internal"))
        #expect(!ClientTLS.isIPLiteral("localhost"))
    }
}
