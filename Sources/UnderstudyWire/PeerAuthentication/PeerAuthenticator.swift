import Crypto

/// Makes and checks the HMAC-SHA256 proofs of the peer handshake, and the nonces in it.
public struct PeerAuthenticator: Sendable {
    /// Nonce length: 256 bits from the system CSPRNG, so no two connections share one.
    public static let nonceBytes = 32
    public static let proofBytes = 32

    private let secret: ClusterSecret

    public init(secret: ClusterSecret) {
        self.secret = secret
    }

    /// HMAC-SHA256(secret, transcript as `side` states it).
    public func proof(by side: PeerSide, of transcript: PeerTranscript) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: transcript.message(for: side), using: secret.key))
    }

    /// Whether `candidate` is `side`'s proof of `transcript`; the comparison takes the same
    /// time wherever the first differing byte is.
    public func verify(_ candidate: [UInt8], by side: PeerSide, of transcript: PeerTranscript) -> Bool {
        ConstantTime.equal(candidate, proof(by: side, of: transcript))
    }

    /// A fresh nonce from BoringSSL's CSPRNG (a random 256-bit key's bytes).
    public static func makeNonce() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }
}

/// Comparison whose time does not depend on where two byte strings differ, so an attacker
/// cannot learn a valid proof byte by byte from response times.
public enum ConstantTime {
    public static func equal(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }  // lengths are public (always 32)
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

/// Lowercase hexadecimal, as nonces and proofs travel in RESP.
public enum HexBytes {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: text, as: UTF8.self)
    }

    /// Nil unless `text` is exactly `count` bytes in hexadecimal.
    public static func decode<Text: Collection<UInt8>>(_ text: Text, count: Int) -> [UInt8]? {
        guard text.count == count * 2 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case 48...57: digit - 48
            case 97...102: digit - 87
            case 65...70: digit - 55
            default: nil
            }
        }
        var bytes: [UInt8] = []
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let high = value(high), let low = value(low) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
