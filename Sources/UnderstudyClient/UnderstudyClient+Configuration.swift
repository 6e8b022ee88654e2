extension UnderstudyClient {
    /// Every limit and timing of the client, in one place. The defaults and why are in
    /// docs/client.md; they are chosen for Understudy's failover (a `kill -9` of the primary
    /// is followed by writes on the new one in ≈ 0.6–0.7 s with default server settings).
    public struct Configuration: Sendable {
        /// Connections per node, each pipelining any number of callers.
        public var connectionsPerNode = 2
        /// How long a TCP connect may take (cut to the call's remaining deadline).
        public var connectTimeoutMilliseconds: Int64 = 1_000
        /// How long one attempt waits for its reply. Above the server's write holds for a
        /// lost standby (`--failure-timeout` 1 s plus the witness round trip).
        public var perAttemptTimeoutMilliseconds: Int64 = 2_000
        /// The whole call, retries and backoff included: long enough to ride out a failover
        /// and an attempt that timed out, short enough to fail while the caller still cares.
        public var deadlineMilliseconds: Int64 = 5_000
        /// Attempts per call, the first included (redis-py: 10 retries).
        public var maxAttempts = 10
        /// Full-jitter backoff: before retry n sleep random(0, min(cap, base · 2^n)) ms
        /// (redis-py's default: base 10 ms, cap 1 s).
        public var backoffBaseMilliseconds: Int64 = 10
        public var backoffCapMilliseconds: Int64 = 1_000
        /// A retry that first probes the topology (the primary was lost: a failover may be under
        /// way) sleeps at most this long, so that callers find a new primary within about one
        /// probe interval of its promotion instead of sleeping through it; the probe interval
        /// and the retry budget still bound what they cost the nodes.
        public var rediscoveryBackoffCapMilliseconds: Int64 = 25
        /// Retry budget (Envoy): retries in progress ≤ this percentage of requests in progress…
        public var retryBudgetPercentOfActiveRequests = 20
        /// …but at least this many (Envoy's `min_retry_concurrency`).
        public var retryBudgetMinimumConcurrentRetries = 3
        /// A node's breaker opens after this many consecutive transport failures (Envoy's
        /// `consecutive_5xx`, Kitura's `maxFailures`: 5).
        public var circuitBreakerFailureThreshold = 5
        /// How long an open breaker refuses before it lets one probe through: about the
        /// server's `--failure-timeout`, so a restarted node is back in use within a second.
        public var circuitBreakerCoolDownMilliseconds: Int64 = 1_000
        /// Requests in flight to one node; past it calls fail at once with `bulkheadFull`.
        public var maxInFlightRequestsPerNode = 1_024
        /// How long a probe (`ROLE` + `INFO replication`) of one node may take (valkey-swift's
        /// sentinel probe: 500 ms).
        public var probeTimeoutMilliseconds: Int64 = 500
        /// Probes at least this far apart, so that a burst of failures costs one probe.
        public var minimumProbeIntervalMilliseconds: Int64 = 50
        /// Replies a connection may still owe to attempts that timed out before it is closed
        /// (their replies are read and dropped, so that later replies stay matched).
        public var maxAbandonedRepliesPerConnection = 128
        /// Wrap writes that are not naturally idempotent in `IDEMPOTENT <key> …` with a fresh
        /// random key, so that a retry after an unknown outcome is safe.
        public var idempotentWrites = true
        /// Sent as `AUTH [username] password` on each new connection, before any command
        /// (a node started with `--password-file`; docs/security.md). Nil: no AUTH.
        public var password: String?
        /// The user `password` belongs to; nil: Redis's `default` user (`AUTH password`).
        public var username: String?
        /// Backoff jitter and idempotency keys.
        public var randomSource = RandomSource.system
        /// TLS to every node (nil: plaintext), as `redis-cli --tls` talks to a TLS port.
        public var tls: ClientTLS?

        public init() {}
    }
}
