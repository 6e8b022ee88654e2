public import NIOCore
public import UnderstudyCore

extension ByteBuffer {
    /// Appends `reply` in RESP2 (RESP3 types in the RESP2 shape `Reply` documents).
    ///
    /// CR and LF inside a status or error text would end the line early and let the rest be
    /// read as further replies, so they are written as spaces (Redis does the same to errors).
    public mutating func writeRESPReply(_ reply: Reply) {
        writeRESPReply(reply, protocol: .resp2)
    }

    /// Appends `reply` in the connection's protocol: RESP2, or RESP3 after `HELLO 3`.
    ///
    /// The replies of the hot path (`+OK`, bulk, integer) are written the same way in both
    /// and never look at `protocol`; RESP3 adds `_` for the null bulk and the null array and
    /// writes the RESP3 types as themselves instead of in their RESP2 shapes.
    public mutating func writeRESPReply(_ reply: Reply, protocol version: ProtocolVersion) {
        switch reply {
        case .simple("OK"):
            writeStaticString("+OK\r\n")
        case .simple(let text):
            writeRESPLine(type: UInt8(ascii: "+"), text)
        case .error(let text):
            writeRESPLine(type: UInt8(ascii: "-"), text)
        case .integer(let value):
            writeRESPHeader(type: UInt8(ascii: ":"), value)
        case .bulk(let bytes?):
            writeRESPBulk(bytes)
        case .storedBulk(let value):
            value.withUnsafeBytes { writeRESPBulk($0) }
        case .bulk(nil), .null:
            writeStaticString(version == .resp3 ? "_\r\n" : "$-1\r\n")
        case .array(let elements?):
            writeRESPAggregate(type: UInt8(ascii: "*"), elements, protocol: version)
        case .array(nil):
            writeStaticString(version == .resp3 ? "_\r\n" : "*-1\r\n")
        case .double(let value):
            if version == .resp3 {
                writeRESPLine(type: UInt8(ascii: ","), Reply.doubleText(value))
            } else {
                writeRESPBulk(Array(Reply.doubleText(value).utf8))
            }
        case .boolean(let value):
            if version == .resp3 {
                writeStaticString(value ? "#t\r\n" : "#f\r\n")
            } else {
                writeStaticString(value ? ":1\r\n" : ":0\r\n")
            }
        case .bigNumber(let digits):
            if version == .resp3 {
                writeRESPLine(type: UInt8(ascii: "("), digits)
            } else {
                writeRESPBulk(Array(digits.utf8))
            }
        case .verbatim(let format, let bytes):
            if version == .resp3 {
                reserveCapacity(minimumWritableBytes: bytes.count + 28)
                writeRESPHeader(type: UInt8(ascii: "="), Int64(bytes.count + 4))
                writeString(format.name)
                writeInteger(UInt8(ascii: ":"))
                writeBytes(bytes)
                writeRESPLineTerminator()
            } else {
                writeRESPBulk(bytes)
            }
        case .map(let entries):
            let count = version == .resp3 ? entries.count : 2 * entries.count
            writeRESPHeader(type: version == .resp3 ? UInt8(ascii: "%") : UInt8(ascii: "*"), Int64(count))
            for entry in entries {
                writeRESPReply(entry.key, protocol: version)
                writeRESPReply(entry.value, protocol: version)
            }
        case .set(let elements):
            writeRESPAggregate(type: version == .resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), elements, protocol: version)
        case .push(let elements):
            writeRESPAggregate(type: version == .resp3 ? UInt8(ascii: ">") : UInt8(ascii: "*"), elements, protocol: version)
        }
    }

    /// Appends `command` as a multibulk request (`*N\r\n` then `$len\r\n<bytes>\r\n` per
    /// argument), the form clients send.
    public mutating func writeRESPCommand(_ command: Command) {
        writeRESPHeader(type: UInt8(ascii: "*"), Int64(command.arguments.count))
        for argument in command.arguments {
            writeRESPBulk(argument)
        }
    }

    /// Reads one complete RESP2 or RESP3 reply, or returns `nil` and reads nothing if the readable
    /// bytes hold only part of one. Not resumable: for a stream, use `RESPReplyDecoder`.
    public mutating func readRESPReply(limits: RESPLimits = .default) throws(RESPProtocolError) -> Reply? {
        var parser = RESPReplyParser(limits: limits)
        let (consumedBytes, reply) = try withUnsafeReadableBytes {
            bytes throws(RESPProtocolError) in try parser.parse(bytes)
        }
        guard let reply else { return nil }
        moveReaderIndex(forwardBy: consumedBytes)
        return reply
    }

    private mutating func writeRESPAggregate(type: UInt8, _ elements: [Reply], protocol version: ProtocolVersion) {
        writeRESPHeader(type: type, Int64(elements.count))
        for element in elements {
            writeRESPReply(element, protocol: version)
        }
    }

    private mutating func writeRESPBulk(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeRESPBulk($0) }
    }

    private mutating func writeRESPBulk(_ bytes: UnsafeRawBufferPointer) {
        reserveCapacity(minimumWritableBytes: bytes.count + 24)
        writeRESPHeader(type: UInt8(ascii: "$"), Int64(bytes.count))
        writeBytes(bytes)
        writeRESPLineTerminator()
    }

    private mutating func writeRESPLine(type: UInt8, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            reserveCapacity(minimumWritableBytes: utf8.count + 3)
            writeInteger(type)
            let lineBreak = utf8.firstIndex { $0 == RESPBytes.carriageReturn || $0 == RESPBytes.lineFeed }
            if lineBreak == nil {
                writeBytes(utf8)
            } else {
                for byte in utf8 {
                    let isLineBreak = byte == RESPBytes.carriageReturn || byte == RESPBytes.lineFeed
                    writeInteger(isLineBreak ? UInt8(ascii: " ") : byte)
                }
            }
        }
        writeRESPLineTerminator()
    }

    /// Writes `<type><value>\r\n`, the decimal digits without allocating a `String`.
    private mutating func writeRESPHeader(type: UInt8, _ value: Int64) {
        // Longest: type, sign, 19 digits, CRLF.
        writeWithUnsafeMutableBytes(minimumWritableBytes: 23) { output in
            var magnitude = value.magnitude
            var digitCount = 1
            var power: UInt64 = 10
            while digitCount < 20 && magnitude >= power {
                digitCount += 1
                power = power &* 10
            }
            let signCount = value < 0 ? 1 : 0
            output[0] = type
            if value < 0 { output[1] = RESPBytes.minus }
            var index = 1 + signCount + digitCount
            output[index] = RESPBytes.carriageReturn
            output[index + 1] = RESPBytes.lineFeed
            repeat {
                index -= 1
                output[index] = RESPBytes.zero + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            return 1 + signCount + digitCount + 2
        }
    }

    private mutating func writeRESPLineTerminator() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }
}
