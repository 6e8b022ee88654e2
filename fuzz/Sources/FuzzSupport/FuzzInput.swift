/// Shapes a fuzzer's raw bytes into what each parser takes, and stops the run (so that
/// libFuzzer keeps the input) when a harness finds a property broken.
public enum FuzzInput {
    /// The bytes libFuzzer hands to `LLVMFuzzerTestOneInput`, copied.
    public static func bytes(_ start: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
        guard let start, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: count))
    }

    /// Arguments separated by NUL bytes (argument bytes other than NUL are all reachable;
    /// the seed generator writes its examples this way).
    public static func arguments(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
    }

    /// Read sizes for feeding a stream parser in pieces, as a socket delivers them: the
    /// first byte picks the size (1...256), the rest is the stream.
    public static func chunked(_ bytes: [UInt8]) -> (chunkBytes: Int, stream: [UInt8]) {
        guard let first = bytes.first else { return (1, []) }
        return (Int(first) + 1, Array(bytes.dropFirst()))
    }

    /// Ends the run with a message: a property the parser promises did not hold.
    public static func fail(_ message: String, input: [UInt8]) -> Never {
        fatalError("fuzz property broken: \(message) (input of \(input.count) bytes)")
    }

    /// Checks that a message read from a reply line, written back as its line, reads back
    /// as itself (`line` and `parse` are the message type's own writer and reader).
    public static func checkLineRoundTrip<Message: Equatable>(
        _ message: Message, line: (text: String, isError: Bool),
        parse: (String, Bool) throws -> Message, input: [UInt8]
    ) {
        do {
            guard try parse(line.text, line.isError) == message else {
                fail("\(Message.self) does not survive a round trip: \(line.text)", input: input)
            }
        } catch {
            fail("a re-written \(Message.self) does not parse: \(line.text): \(error)", input: input)
        }
    }
}
