public import NIOCore
public import UnderstudyCore

/// Encodes outbound `Reply`s in RESP2, for a pipeline that writes replies as messages.
///
/// A handler that writes many replies per flush MAY instead append them to one buffer with
/// `ByteBuffer.writeRESPReply(_:)` and write that buffer once.
public struct RESPReplyEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Reply

    public init() {}

    public func encode(data: Reply, out: inout ByteBuffer) {
        out.writeRESPReply(data)
    }
}
