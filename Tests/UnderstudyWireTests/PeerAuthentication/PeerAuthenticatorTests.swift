import Testing
import UnderstudyCore
import UnderstudyWire

@Suite struct PeerAuthenticatorTests {
    static let secret = try! ClusterSecret(fileContents: Array("0123456789abcdef0123456789abcdef\n".utf8))
    static let authenticator = PeerAuthenticator(secret: secret)
    static let transcript = PeerTranscript(
        link: .replication, clusterID: "00112233445566778899aabbccddeeff", serverNonce: Array(0..<32),
        clientNonce: Array(32..<64), clientName: "127.0.0.1:7001", serverName: "127.0.0.1:7002")

    /// Pinned once (and cross-checked with Python's hmac over the same length-prefixed
    /// encoding): a change to the transcript encoding breaks every deployed peer.
    @Test func proofs_matchPinnedVectors() {
        #expect(HexBytes.encode(Self.authenticator.proof(by: .client, of: Self.transcript))
            == "4896418678016a95646cd963434a9e4f8c4e09cbc8b4b0463985bdb8a5699c87")
        #expect(HexBytes.encode(Self.authenticator.proof(by: .server, of: Self.transcript))
            == "37bc06a67ef7b0dde92f93c5447bbe74b70a2b221f6f7e345cf2e33803dd6f98")
    }

    @Test func proof_verifiesOnlyForItsSide() {
        let client = Self.authenticator.proof(by: .client, of: Self.transcript)
        #expect(Self.authenticator.verify(client, by: .client, of: Self.transcript))
        #expect(!Self.authenticator.verify(client, by: .server, of: Self.transcript))
    }

    @Test func proof_withWrongSecret_fails() throws {
        let other = PeerAuthenticator(secret: try ClusterSecret(fileContents: Array("another-secret-of-enough-bytes!!".utf8)))
        let forged = other.proof(by: .client, of: Self.transcript)
        #expect(!Self.authenticator.verify(forged, by: .client, of: Self.transcript))
    }

    @Test func proof_forAnyChangedField_fails() {
        let proof = Self.authenticator.proof(by: .client, of: Self.transcript)
        var changed: [PeerTranscript] = []
        var cluster = Self.transcript
        cluster.clusterID = "ffeeddccbbaa99887766554433221100"
        changed.append(cluster)
        var swapped = Self.transcript
        swap(&swapped.serverNonce, &swapped.clientNonce)
        changed.append(swapped)
        var link = Self.transcript
        link.link = .fence
        changed.append(link)
        var names = Self.transcript
        swap(&names.clientName, &names.serverName)
        changed.append(names)
        for transcript in changed {
            #expect(!Self.authenticator.verify(proof, by: .client, of: transcript))
        }
    }

    @Test func constantTimeEqual_comparesWholeValues() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2], [1, 2, 3]))
        #expect(ConstantTime.equal([], []))
    }

    @Test func nonces_areFreshAndFullLength() {
        let first = PeerAuthenticator.makeNonce()
        let second = PeerAuthenticator.makeNonce()
        #expect(first.count == PeerAuthenticator.nonceBytes)
        #expect(first != second)
    }

    @Test func hex_roundTripsAndRejectsBadText() {
        let bytes: [UInt8] = [0, 1, 0xab, 0xff]
        #expect(HexBytes.encode(bytes) == "0001abff")
        #expect(HexBytes.decode(Array("0001abff".utf8), count: 4) == bytes)
        #expect(HexBytes.decode(Array("0001abf".utf8), count: 4) == nil)
        #expect(HexBytes.decode(Array("0001abfg".utf8), count: 4) == nil)
    }
}
