import UnderstudyCore

/// The JSON lines of the lost-writes file (the format is in `LostWritesFile`'s comment).
/// Built by hand, byte by byte: storage does not link Foundation, and the field order
/// stays fixed for people reading the file.
extension LostWritesFile {
    static func appendHeaderLine(_ header: Header, to line: inout [UInt8]) {
        line.appendText("{\"format\":\"\(format)\",\"version\":\(version)")
        line.appendText(",\"cutAtUnixMilliseconds\":\(header.cutAtUnixMilliseconds)")
        line.appendText(",\"keptThroughLSN\":\(header.keptThroughLSN),\"cutByEpoch\":\(header.cutByEpoch)")
        line.appendText(",\"firstLSN\":\(header.lsns.lowerBound),\"lastLSN\":\(header.lsns.upperBound)")
        line.appendText(",\"recordCount\":\(header.lsns.upperBound.rawValue - header.lsns.lowerBound.rawValue + 1)")
        if let range = header.snapshotOnlyLSNs {
            line.appendText(",\"snapshotOnlyLSNs\":[\(range.lowerBound),\(range.upperBound)]}\n")
        } else {
            line.appendText(",\"snapshotOnlyLSNs\":null}\n")
        }
    }

    static func appendRecordLine(_ record: WALRecord, to line: inout [UInt8]) {
        line.appendText("{\"lsn\":\(record.lsn),\"epoch\":\(record.epoch),\"effects\":[")
        for (index, effect) in record.effects.enumerated() {
            if index > 0 { line.appendText(",") }
            appendEffect(effect, to: &line)
        }
        line.appendText("]}\n")
    }

    static func appendEffect(_ effect: Effect, to line: inout [UInt8]) {
        switch effect {
        case .set(let key, let value, let expireAtMilliseconds):
            line.appendText("{\"op\":\"set\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText(",\"value\":")
            appendByteString(value, to: &line)
            line.appendText(",\"expireAtMilliseconds\":\(expireAtMilliseconds.map(String.init) ?? "null")}")
        case .delete(let key):
            line.appendText("{\"op\":\"delete\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText("}")
        case .setExpiry(let key, let expireAtMilliseconds):
            line.appendText("{\"op\":\"setExpiry\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText(",\"expireAtMilliseconds\":\(expireAtMilliseconds.map(String.init) ?? "null")}")
        case .rename(let from, let to):
            line.appendText("{\"op\":\"rename\",\"from\":")
            appendByteString(from, to: &line)
            line.appendText(",\"to\":")
            appendByteString(to, to: &line)
            line.appendText("}")
        case .flushAll:
            line.appendText("{\"op\":\"flushAll\"}")
        case .append(let key, let suffix):
            line.appendText("{\"op\":\"append\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText(",\"suffix\":")
            appendByteString(suffix, to: &line)
            line.appendText("}")
        case .setRange(let key, let offset, let bytes):
            line.appendText("{\"op\":\"setRange\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText(",\"offset\":\(offset),\"bytes\":")
            appendByteString(bytes, to: &line)
            line.appendText("}")
        case .remember(let key, let fingerprint, _, let atMilliseconds):
            // The IDEMPOTENT key that ran the record's other effects (the reply is left out:
            // it repeats what they did).
            line.appendText("{\"op\":\"idempotent\",\"key\":")
            appendByteString(key, to: &line)
            line.appendText(",\"fingerprint\":\(fingerprint),\"atMilliseconds\":\(atMilliseconds)}")
        }
    }

    /// A JSON string if `bytes` are valid UTF-8, else `{"base64":"…"}`: keys and values
    /// are arbitrary bytes, and a JSON string cannot carry invalid UTF-8 faithfully.
    static func appendByteString(_ bytes: [UInt8], to line: inout [UInt8]) {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            line.appendText("{\"base64\":\"")
            appendBase64(bytes, to: &line)
            line.appendText("\"}")
            return
        }
        line.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): line.appendText("\\\"")
            case UInt8(ascii: "\\"): line.appendText("\\\\")
            case 0x0A: line.appendText("\\n")
            case 0x0D: line.appendText("\\r")
            case 0x09: line.appendText("\\t")
            case 0x08: line.appendText("\\b")
            case 0x0C: line.appendText("\\f")
            case 0..<0x20:
                line.appendText("\\u00")
                line.append(hexDigits[Int(byte >> 4)])
                line.append(hexDigits[Int(byte & 0x0F)])
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }

    /// RFC 4648 base64 with `=` padding.
    static func appendBase64(_ bytes: [UInt8], to line: inout [UInt8]) {
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let first = UInt32(bytes[index])
            let second = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let third = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = first << 16 | second << 8 | third
            line.append(base64Alphabet[Int(group >> 18 & 0x3F)])
            line.append(base64Alphabet[Int(group >> 12 & 0x3F)])
            line.append(remaining > 1 ? base64Alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            line.append(remaining > 2 ? base64Alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    private static let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendText(_ text: String) {
        append(contentsOf: text.utf8)
    }
}
