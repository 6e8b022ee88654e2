import FuzzSupport
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Replication frames (what a standby reads from its primary and the primary from its
/// standby) through `ReplicationFrameDecoder.readFrame`. Properties: no crash, hang or
/// unbounded allocation (the limit is checked before the payload is waited for); a frame
/// is never read from fewer bytes than it needs; and every decoded frame, written by
/// `writeReplicationFrame`, decodes to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplicationFrame(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    var buffer = ByteBuffer(bytes: input)
    // A small limit, so that the fuzzer reaches both sides of it.
    let maxFrameBytes = 4096
    while buffer.readableBytes > 0 {
        let before = buffer.readerIndex
        let frame: ReplicationFrame?
        do {
            frame = try ReplicationFrameDecoder.readFrame(from: &buffer, maxFrameBytes: maxFrameBytes)
        } catch {
            return 0
        }
        guard let frame else {
            if buffer.readerIndex != before { FuzzInput.fail("an incomplete frame moved the reader", input: input) }
            return 0
        }
        var encoded = ByteBuffer()
        encoded.writeReplicationFrame(frame)
        let again: ReplicationFrame?
        do {
            again = try ReplicationFrameDecoder.readFrame(from: &encoded, maxFrameBytes: Int(UInt32.max))
        } catch {
            FuzzInput.fail("a re-encoded frame does not decode: \(error)", input: input)
        }
        guard again == frame, encoded.readableBytes == 0 else {
            FuzzInput.fail("a frame does not survive a round trip: \(frame)", input: input)
        }
    }
    return 0
}
