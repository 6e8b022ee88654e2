import Foundation
import UnderstudyTestKit

/// A self-signed certificate (IP SAN 127.0.0.1) and its key, made by the openssl CLI in
/// `directory` as `cert.pem` and `key.pem` (overwriting any there): no key is committed.
struct TestCertificates {
    let certificate: String
    let key: String

    init(directory: String, commonName: String) throws {
        certificate = directory + "/cert.pem"
        key = directory + "/key.pem"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", key, "-out", certificate,
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("openssl req failed with status \(process.terminationStatus)")
        }
    }
}
