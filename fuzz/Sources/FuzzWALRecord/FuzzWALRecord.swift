import FuzzSupport
import UnderstudyCore
import UnderstudyStorage

/// The WAL record decoder: what a standby decodes from its primary's stream and what
/// recovery reads from disk. The first byte chooses a mode:
/// - 0: the bytes as raw frames, into `WALFormat.decodeFrames`;
/// - 1: the bytes as one record payload, into `Effect.decodeRecord`, and what decodes
///   must survive `encodeRecord` → `decodeRecord`;
/// - otherwise: the bytes cut into payloads (a length byte each), each framed with a valid
///   CRC32C (the fuzzer cannot forge one, and a checksum is no defence against a hostile
///   peer), consecutive LSNs and the epoch byte given; `decodeFrames` must then give, for
///   each frame, exactly what `decodeRecord` gives for its payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWALRecord(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = FuzzInput.bytes(start, count)
    guard let mode = input.first else { return 0 }
    let rest = Array(input.dropFirst())
    switch mode {
    case 0:
        do { _ = try WALFormat.decodeFrames(rest) } catch { return 0 }
    case 1:
        checkEffectRoundTrip(rest, input: input)
    default:
        checkFramedPayloads(rest, input: input)
    }
    return 0
}

private func checkEffectRoundTrip(_ payload: [UInt8], input: [UInt8]) {
    let effects: [Effect]
    do { effects = try Effect.decodeRecord(payload) } catch { return }
    do {
        guard try Effect.decodeRecord(Effect.encodeRecord(effects)) == effects else {
            FuzzInput.fail("effects do not survive a round trip: \(effects)", input: input)
        }
    } catch {
        FuzzInput.fail("re-encoded effects do not decode: \(error)", input: input)
    }
}

private func checkFramedPayloads(_ bytes: [UInt8], input: [UInt8]) {
    guard let epoch = bytes.first else { return }
    var payloads: [[UInt8]] = []
    var offset = 1
    while offset < bytes.count {
        let length = Int(bytes[offset])
        let end = min(bytes.count, offset + 1 + length)
        payloads.append(Array(bytes[(offset + 1)..<end]))
        offset = end
    }
    var frames: [UInt8] = []
    for (index, payload) in payloads.enumerated() {
        var frame: [UInt8] = []
        frame.appendLittleEndian(UInt32(payload.count))
        frame.appendLittleEndian(UInt32(0))
        frame.appendLittleEndian(UInt64(epoch))
        frame.appendLittleEndian(UInt64(index + 1))
        frame += payload
        frame.storeLittleEndian(frame[8...].withUnsafeBytes { CRC32C.checksum($0) }, at: 4)
        frames += frame
    }
    let records: [WALRecord]
    do { records = try WALFormat.decodeFrames(frames) } catch { return }
    guard records.count == payloads.count else {
        FuzzInput.fail("\(payloads.count) frames decoded to \(records.count) records", input: input)
    }
    for (record, payload) in zip(records, payloads) {
        do {
            guard try Effect.decodeRecord(payload) == record.effects else {
                FuzzInput.fail("a frame's effects differ from its payload's", input: input)
            }
        } catch {
            FuzzInput.fail("a frame decoded but its payload does not: \(error)", input: input)
        }
    }
}
