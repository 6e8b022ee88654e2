extension DataNode {
    /// What a data node is configured to be: its flags, as the protocol needs them.
    public struct Configuration: Hashable, Sendable {
        /// Replication with a peer (`--peer`); nil for a standalone node.
        public struct Pair: Hashable, Sendable {
            /// The peer's address, as the witness and FENCE name it.
            public var peer: String
            public var mode: ReplicationMode
            /// Without a witness the role (with one it is not used).
            public var role: ReplicationRole
            /// With a witness: the `--role` given, a hint for a new cluster's bootstrap.
            public var hint: ReplicationRole?
            /// With a witness (`--witness`): automatic failover's timing.
            public var coordination: CoordinationSettings?
            public var maxWaitingRecords: Int
            public var syncTimeoutMilliseconds: Int64
            public var windowBytes: Int
            public var writtenRecordCapacity: Int

            public init(peer: String, mode: ReplicationMode, role: ReplicationRole, hint: ReplicationRole? = nil,
                        coordination: CoordinationSettings?,
                        maxWaitingRecords: Int, syncTimeoutMilliseconds: Int64, windowBytes: Int,
                        writtenRecordCapacity: Int = PrimaryReplication.defaultWrittenRecordCapacity) {
                self.peer = peer
                self.mode = mode
                self.role = role
                self.hint = hint
                self.coordination = coordination
                self.maxWaitingRecords = maxWaitingRecords
                self.syncTimeoutMilliseconds = syncTimeoutMilliseconds
                self.windowBytes = windowBytes
                self.writtenRecordCapacity = writtenRecordCapacity
            }
        }

        public var pair: Pair?
        public var limits: NodeLimits
        /// A deliberate bug, for the simulator's mutation tests only (nil in production):
        /// it shows the checker catches what the rule it breaks prevents.
        public var mutation: Mutation?

        public init(pair: Pair?, limits: NodeLimits = .standard, mutation: Mutation? = nil) {
            self.pair = pair
            self.limits = limits
            self.mutation = mutation
        }
    }

    /// A rule broken on purpose (`understudy-sim --mutation`); documented in docs/simulation.md.
    public enum Mutation: String, Hashable, Sendable, CaseIterable {
        /// Acknowledge without holding the lease.
        case ignoreLease = "ignore-lease"
        /// Echo heartbeats (promise) while this node's own vote is out.
        case echoDuringVote = "echo-during-vote"
        /// A standby that attaches below the commit point (re-seeded) is not recorded out of sync.
        case reseededStaysInSync = "reseeded-stays-in-sync"
        /// On step-down, release held replies up to the commit LSN without the gate.
        case releasePastTheGate = "release-past-the-gate"
        /// A switchover asks the witness without waiting for the standby to hold every record.
        case handOverEarly = "hand-over-early"
        /// A standby takes a FENCE naming itself as a grant and becomes primary of its epoch
        /// (issue 9, item 1, as production had it).
        case fencePromotes = "fence-promotes"
    }
}
