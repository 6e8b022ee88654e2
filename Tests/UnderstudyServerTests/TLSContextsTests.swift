import Foundation
import Testing
import UnderstudyServer
import UnderstudyTestKit

/// The TLS builder (`TLSSetup`) and its reloadable holder (`TLSContexts`): clear errors naming
/// the flag and the path, and a failed reload that keeps the certificate in use.
@Suite struct TLSContextsTests {
    @Test func init_missingCertificateFile_namesTheFlagAndThePath() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/missing-cert.pem"
        let error = try #require(throws: TLSSetupError.self) {
            try TLSContexts(settings: TLSSettings(certificateFile: missing, keyFile: directory.path + "/key.pem"))
        }
        #expect(error.code == .unreadableFile)
        #expect(error.flag == "--tls-cert-file")
        #expect(error.path == missing)
        #expect(error.description.contains("--tls-cert-file \(missing)"))
        #expect(error.description.contains("No such file"))
    }

    @Test func init_missingKeyAndCAFiles_nameTheirFlags() throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "first")
        let noKey = try #require(throws: TLSSetupError.self) {
            try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: directory.path + "/nope.key"))
        }
        #expect(noKey.flag == "--tls-key-file" && noKey.code == .unreadableFile)
        let noCA = try #require(throws: TLSSetupError.self) {
            try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key,
                                                  caCertificateFile: directory.path + "/nope-ca.pem"))
        }
        #expect(noCA.flag == "--tls-ca-cert-file" && noCA.path == directory.path + "/nope-ca.pem")
    }

    @Test func init_certificateFileNotPEM_isInvalidContent() throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "first")
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: files.certificate))
        let error = try #require(throws: TLSSetupError.self) {
            try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key))
        }
        #expect(error.code == .invalidContent && error.flag == "--tls-cert-file")
    }

    @Test func reload_badFile_keepsTheOldContexts_goodFiles_replaceThem() throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "first")
        let contexts = try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key,
                                                             caCertificateFile: files.certificate))
        let oldServer = contexts.serverContext
        let oldClient = contexts.clientContext

        try Data("-----BEGIN CERTIFICATE-----\ntruncated".utf8).write(to: URL(fileURLWithPath: files.certificate))
        let error = try #require(throws: TLSSetupError.self) { try contexts.reload() }
        #expect(error.flag == "--tls-cert-file")
        #expect(contexts.serverContext === oldServer)
        #expect(contexts.clientContext === oldClient)

        _ = try TestCertificates(directory: directory.path, commonName: "second")
        try contexts.reload()
        #expect(contexts.serverContext !== oldServer)
        #expect(contexts.clientContext !== oldClient)
    }

    @Test func reload_keyOfAnotherCertificate_keepsTheOldContexts() throws {
        let directory = try TemporaryDirectory()
        let files = try TestCertificates(directory: directory.path, commonName: "first")
        let contexts = try TLSContexts(settings: TLSSettings(certificateFile: files.certificate, keyFile: files.key))
        let oldServer = contexts.serverContext
        let other = try TemporaryDirectory()
        let otherFiles = try TestCertificates(directory: other.path, commonName: "other")
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: otherFiles.key, toPath: files.key)
        let error = try #require(throws: TLSSetupError.self) { try contexts.reload() }
        #expect(error.code == .invalidCombination)
        #expect(contexts.serverContext === oldServer)
    }
}
