import Testing
import UnderstudyWire

@Suite struct ClusterSecretTests {
    @Test func firstNonEmptyLine_isTheSecret_trimmed() throws {
        let secret = try ClusterSecret(fileContents: Array("\n  \r\n  0123456789abcdef0123456789abcdef \r\nignored\n".utf8))
        #expect(secret.byteCount == 32)
        let same = try ClusterSecret(fileContents: Array("0123456789abcdef0123456789abcdef".utf8))
        let transcript = PeerTranscript(link: .fence, clusterID: "-", serverNonce: [1], clientNonce: [2],
                                        clientName: "a", serverName: "b")
        #expect(PeerAuthenticator(secret: secret).proof(by: .client, of: transcript)
            == PeerAuthenticator(secret: same).proof(by: .client, of: transcript))
    }

    @Test func emptyFile_isRefused() {
        #expect(throws: ClusterSecretError.self) { try ClusterSecret(fileContents: Array(" \n\r\n".utf8)) }
    }

    @Test func secretShorterThan16Bytes_isRefused_16IsAccepted() throws {
        #expect {
            try ClusterSecret(fileContents: Array("fifteen-bytes!!".utf8))
        } throws: { error in
            (error as? ClusterSecretError)?.code == .tooShort && "\(error)".contains("at least 16")
        }
        #expect(try ClusterSecret(fileContents: Array("sixteen-bytes!!!".utf8)).byteCount == 16)
    }

    @Test func secretLongerThanTheMaximum_isRefused() {
        let long = [UInt8](repeating: 65, count: ClusterSecret.maximumBytes + 1)
        #expect(throws: ClusterSecretError.self) { try ClusterSecret(fileContents: long) }
    }
}
