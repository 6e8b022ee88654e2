import FuzzSupport
import UnderstudyCore
import UnderstudyWire

/// `REPLICATE` (a would-be standby's first command) through `StandbyHandshake(arguments:)`,
/// arguments separated by NUL bytes. Properties: no crash, hang or unbounded allocation; a
/// handshake that parses, written back as arguments, parses to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStandbyHandshake(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    let handshake: StandbyHandshake
    do {
        handshake = try StandbyHandshake(arguments: FuzzInput.arguments(input))
    } catch {
        return 0
    }
    do {
        guard try StandbyHandshake(arguments: handshake.arguments) == handshake else {
            FuzzInput.fail("a handshake does not survive a round trip: \(handshake)", input: input)
        }
    } catch {
        FuzzInput.fail("a re-encoded handshake does not parse: \(error)", input: input)
    }
    return 0
}
