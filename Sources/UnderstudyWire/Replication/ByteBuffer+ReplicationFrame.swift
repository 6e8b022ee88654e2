public import NIOCore
import UnderstudyCore

extension ByteBuffer {
    /// Appends one replication frame (see `ReplicationFrame` for the layout).
    public mutating func writeReplicationFrame(_ frame: ReplicationFrame) {
        let headerStart = writerIndex
        writeInteger(UInt8(0))
        writeInteger(UInt32(0), endianness: .little)
        writeInteger(frame.epoch.rawValue, endianness: .little)
        let payloadStart = writerIndex
        let kind: ReplicationFrame.Kind
        switch frame {
        case .records(_, let compressed, let rawBytes, let payload):
            kind = .records
            writeInteger(UInt8(compressed ? 1 : 0))
            writeInteger(UInt32(rawBytes), endianness: .little)
            writeBytes(payload)
        case .snapshotChunk(_, let offset, let bytes):
            kind = .snapshotChunk
            writeInteger(offset, endianness: .little)
            writeBytes(bytes)
        case .snapshotEnd(_, let totalBytes, let checksum):
            kind = .snapshotEnd
            writeInteger(totalBytes, endianness: .little)
            writeInteger(checksum, endianness: .little)
        case .heartbeat(_, let lastWrittenLSN, let primaryTimeMilliseconds, let sentAtMilliseconds, let leaseMilliseconds):
            kind = .heartbeat
            writeInteger(lastWrittenLSN.rawValue, endianness: .little)
            writeInteger(primaryTimeMilliseconds, endianness: .little)
            writeInteger(sentAtMilliseconds, endianness: .little)
            writeInteger(leaseMilliseconds, endianness: .little)
        case .heartbeatEcho(_, let sentAtMilliseconds):
            kind = .heartbeatEcho
            writeInteger(sentAtMilliseconds, endianness: .little)
        case .handover(_, let newEpoch):
            kind = .handover
            writeInteger(newEpoch.rawValue, endianness: .little)
        case .acknowledge(_, let durableLSN, let appliedLSN):
            kind = .acknowledge
            writeInteger(durableLSN.rawValue, endianness: .little)
            writeInteger(appliedLSN.rawValue, endianness: .little)
        case .error(_, let message):
            kind = .error
            writeString(message)
        }
        setInteger(kind.rawValue, at: headerStart)
        setInteger(UInt32(writerIndex - payloadStart), at: headerStart + 1, endianness: .little)
    }
}
