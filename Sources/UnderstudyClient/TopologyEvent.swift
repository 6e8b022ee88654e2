/// Something the client learned about who is primary, published on
/// `UnderstudyClient.topologyEvents` (and logged). A struct with a `Kind`, so that kinds can
/// be added without breaking a caller's `switch`.
public struct TopologyEvent: Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// `node` is now the primary the client sends writes to, in `epoch`.
        public static let primaryChanged = Kind("primaryChanged")
        /// The client no longer knows a primary (its primary refused as superseded, or a
        /// newer epoch was seen without one named); it will probe the seeds.
        public static let primaryLost = Kind("primaryLost")
        /// `node` answered with a view from `epoch`, older than the highest epoch seen: ignored.
        public static let staleAnswerIgnored = Kind("staleAnswerIgnored")
    }

    public var kind: Kind
    public var node: NodeAddress?
    public var epoch: UInt64

    public init(kind: Kind, node: NodeAddress?, epoch: UInt64) {
        self.kind = kind
        self.node = node
        self.epoch = epoch
    }

    public var description: String {
        switch kind {
        case .primaryChanged: "primary changed to \(node.map { "\($0)" } ?? "?") in epoch \(epoch)"
        case .primaryLost: "primary unknown since epoch \(epoch)\(node.map { " (was \($0))" } ?? "")"
        default: "ignored an answer of \(node.map { "\($0)" } ?? "?") from older epoch \(epoch)"
        }
    }
}
