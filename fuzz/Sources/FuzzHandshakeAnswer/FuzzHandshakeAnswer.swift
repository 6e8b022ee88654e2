import FuzzSupport
import UnderstudyCore
import UnderstudyWire

/// The primary's answer to `REPLICATE` through `HandshakeAnswer(line:isError:)`; the first
/// byte's low bit says whether the line came as an error. Properties: no crash, hang or
/// unbounded allocation; an answer that parses, written back as its line, parses to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshakeAnswer(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    guard let first = input.first else { return 0 }
    let line = String(decoding: input.dropFirst(), as: UTF8.self)
    let answer: HandshakeAnswer
    do {
        answer = try HandshakeAnswer(line: line, isError: first & 1 == 1)
    } catch {
        return 0
    }
    FuzzInput.checkLineRoundTrip(answer, line: answer.line, parse: HandshakeAnswer.init(line:isError:), input: input)
    return 0
}
