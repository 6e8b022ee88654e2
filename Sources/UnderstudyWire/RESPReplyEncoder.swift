public import NIOCore
public import UnderstudyCore

/// Encodes outbound `Reply`s in RESP2 or RESP3, for a pipeline that writes replies as messages.
///
/// A handler that writes many replies per flush MAY instead append them to one buffer with
/// `ByteBuffer.writeRESPReply(_:protocol:)` and write that buffer once.
public struct RESPReplyEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Reply

    public let protocolVersion: ProtocolVersion

    public init(protocol version: ProtocolVersion = .resp2) {
        self.protocolVersion = version
    }

    public func encode(data: Reply, out: inout ByteBuffer) {
        out.writeRESPReply(data, protocol: protocolVersion)
    }
}
