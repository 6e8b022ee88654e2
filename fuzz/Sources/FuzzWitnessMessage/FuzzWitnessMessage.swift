import FuzzSupport
import UnderstudyCore

/// Witness messages: the first byte chooses a request (`WitnessRequest(arguments:)`, the
/// `WITNESS …` command a witness accepts, arguments separated by NUL bytes) or a reply line
/// (`WitnessReply(line:isError:)`, what a data node reads back). Properties: no crash, hang
/// or unbounded allocation; what parses, written back, parses to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWitnessMessage(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    guard let first = input.first else { return 0 }
    let rest = Array(input.dropFirst())
    if first & 1 == 0 {
        checkRequest(rest, input: input)
    } else {
        checkReply(String(decoding: rest, as: UTF8.self), isError: first & 2 == 2, input: input)
    }
    return 0
}

private func checkRequest(_ bytes: [UInt8], input: [UInt8]) {
    let request: WitnessRequest
    do {
        request = try WitnessRequest(arguments: FuzzInput.arguments(bytes))
    } catch {
        return
    }
    do {
        guard try WitnessRequest(arguments: request.arguments) == request else {
            FuzzInput.fail("a witness request does not survive a round trip: \(request)", input: input)
        }
    } catch {
        FuzzInput.fail("a re-encoded witness request does not parse: \(request): \(error)", input: input)
    }
}

private func checkReply(_ line: String, isError: Bool, input: [UInt8]) {
    let reply: WitnessReply
    do {
        reply = try WitnessReply(line: line, isError: isError)
    } catch {
        return
    }
    FuzzInput.checkLineRoundTrip(reply, line: reply.line, parse: WitnessReply.init(line:isError:), input: input)
}
