public import NIOCore
import UnderstudyCore

/// Decodes replication frames. Lengths are checked against `maxFrameBytes` from the header,
/// before the payload is buffered; a malformed frame throws `RESPProtocolError` with code
/// `.invalidReplicationFrame`, and the connection MUST then be closed.
public struct ReplicationFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ReplicationFrame

    /// Largest payload accepted (default 64 MiB: a batch is far smaller).
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = 64 << 20) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.readFrame(from: &buffer, maxFrameBytes: maxFrameBytes) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        let state = try decode(context: context, buffer: &buffer)
        if case .needMoreData = state { buffer.moveReaderIndex(to: buffer.writerIndex) }
        return state
    }

    /// Reads one whole frame, or nothing (and moves nothing) when more bytes are needed.
    public static func readFrame(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws(RESPProtocolError) -> ReplicationFrame? {
        let start = buffer.readerIndex
        guard let kindByte = buffer.getInteger(at: start, as: UInt8.self),
              let length = buffer.getInteger(at: start + 1, endianness: .little, as: UInt32.self),
              let epoch = buffer.getInteger(at: start + 5, endianness: .little, as: UInt64.self)
        else { return nil }
        guard let kind = ReplicationFrame.Kind(rawValue: kindByte) else {
            throw invalid("unknown replication frame type \(kindByte)")
        }
        guard Int(length) <= maxFrameBytes else {
            throw invalid("replication frame of \(length) bytes exceeds the limit of \(maxFrameBytes) bytes")
        }
        guard buffer.readableBytes >= ReplicationFrame.headerBytes + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: ReplicationFrame.headerBytes)
        var payload = buffer.readSlice(length: Int(length))!
        let frame = try decodePayload(kind: kind, epoch: Epoch(epoch), payload: &payload)
        guard payload.readableBytes == 0 else {
            throw invalid("replication frame type \(kindByte) has \(payload.readableBytes) trailing bytes")
        }
        return frame
    }

    private static func decodePayload(
        kind: ReplicationFrame.Kind, epoch: Epoch, payload: inout ByteBuffer
    ) throws(RESPProtocolError) -> ReplicationFrame {
        func uint64() throws(RESPProtocolError) -> UInt64 {
            guard let value = payload.readInteger(endianness: .little, as: UInt64.self) else { throw invalid("truncated replication frame") }
            return value
        }
        switch kind {
        case .records:
            guard let flag = payload.readInteger(as: UInt8.self), flag <= 1,
                  let rawBytes = payload.readInteger(endianness: .little, as: UInt32.self)
            else { throw invalid("malformed records frame header") }
            let bytes = payload.readBytes(length: payload.readableBytes) ?? []
            guard flag == 1 || Int(rawBytes) == bytes.count else {
                throw invalid("uncompressed records frame says \(rawBytes) bytes but carries \(bytes.count)")
            }
            return .records(epoch: epoch, compressed: flag == 1, rawBytes: Int(rawBytes), payload: bytes)
        case .snapshotChunk:
            let offset = try uint64()
            return .snapshotChunk(epoch: epoch, offset: offset, bytes: payload.readBytes(length: payload.readableBytes) ?? [])
        case .snapshotEnd:
            let total = try uint64()
            guard let checksum = payload.readInteger(endianness: .little, as: UInt32.self) else { throw invalid("truncated snapshot end frame") }
            return .snapshotEnd(epoch: epoch, totalBytes: total, checksum: checksum)
        case .heartbeat:
            let lsn = try uint64()
            let time = try uint64()
            let sentAt = try uint64()
            // The lease field came later: a heartbeat without it is from an older primary.
            let lease = payload.readableBytes >= 8 ? try uint64() : 0
            guard lease <= UInt64(Int64.max) else { throw invalid("heartbeat lease out of range") }
            return .heartbeat(epoch: epoch, lastWrittenLSN: LSN(lsn), primaryTimeMilliseconds: Int64(bitPattern: time),
                              sentAtMilliseconds: Int64(bitPattern: sentAt), leaseMilliseconds: Int64(lease))
        case .handover:
            return .handover(epoch: epoch, newEpoch: Epoch(try uint64()))
        case .heartbeatEcho:
            return .heartbeatEcho(epoch: epoch, sentAtMilliseconds: Int64(bitPattern: try uint64()))
        case .acknowledge:
            let durable = try uint64()
            let applied = try uint64()
            return .acknowledge(epoch: epoch, durableLSN: LSN(durable), appliedLSN: LSN(applied))
        case .error:
            return .error(epoch: epoch, message: payload.readString(length: payload.readableBytes) ?? "")
        }
    }

    private static func invalid(_ message: String) -> RESPProtocolError {
        RESPProtocolError(code: .invalidReplicationFrame, message: "ERR Protocol error: \(message)")
    }
}
