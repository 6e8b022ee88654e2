import Logging
import NIOCore
import UnderstudyCore
import UnderstudyWire

/// Sentinel's Pub/Sub on the witness's port: it publishes what `SentinelEvent.changes`
/// finds between the last view it published and the current one, to every connection
/// subscribed to the event's channel or to a pattern matching it.
///
/// Owned by the witness's one event loop (like `WitnessState`): every method MUST be
/// called on it. A subscriber's outbound bytes are bounded by the channel's write-buffer
/// high-water mark (`maxSubscriberPendingBytes`): one that does not read is dropped
/// (its connection closed) instead of letting the witness's memory grow.
final class SentinelHub: @unchecked Sendable {
    let masterName: String
    /// This witness's Sentinel ID, new at each start (`SENTINEL MYID`).
    let myID: String
    let downAfterMilliseconds: Int64
    private let logger: Logger
    private var published: SentinelView?
    private var subscriptions: [ObjectIdentifier: SentinelSubscription] = [:]

    init(masterName: String, myID: String, downAfterMilliseconds: Int64, logger: Logger) {
        self.masterName = masterName
        self.myID = myID
        self.downAfterMilliseconds = downAfterMilliseconds
        self.logger = logger
    }

    /// The last view published: what `SENTINEL …` answers from.
    var view: SentinelView? { published }

    /// Makes `view` the current one and publishes what changed since the last.
    @discardableResult
    func publish(_ view: SentinelView?) -> [SentinelEvent] {
        let events = SentinelEvent.changes(from: published, to: view)
        published = view
        for event in events {
            let message = event.message(masterName: masterName)
            logger.notice("sentinel event", metadata: ["channel": "\(event.channel)", "message": "\(message)"])
            deliver(channel: event.channel, message: message)
        }
        return events
    }

    /// Counts `subscription` among the receivers while it subscribes to anything.
    func update(_ subscription: SentinelSubscription) {
        let key = ObjectIdentifier(subscription)
        subscriptions[key] = subscription.count > 0 ? subscription : nil
    }

    func remove(_ subscription: SentinelSubscription) {
        subscriptions[ObjectIdentifier(subscription)] = nil
    }

    var subscriberCount: Int { subscriptions.count }

    private var lastClientID: Int64 = 0

    /// A new connection's `CLIENT ID`.
    func nextClientID() -> Int64 {
        lastClientID += 1
        return lastClientID
    }

    private func deliver(channel: String, message: String) {
        for (key, subscription) in subscriptions {
            let replies = subscription.messages(channel: channel, message: message)
            guard !replies.isEmpty else { continue }
            guard subscription.channel.isWritable else {
                // It has not read what it was sent: drop it rather than queue without bound.
                logger.warning("dropping a Sentinel subscriber that does not read", metadata: [
                    "remote": "\(subscription.channel.remoteAddress.map { "\($0)" } ?? "unknown")",
                ])
                subscriptions[key] = nil
                subscription.channel.close(promise: nil)
                continue
            }
            var buffer = subscription.channel.allocator.buffer(capacity: 128)
            for reply in replies { buffer.writeRESPReply(reply, protocol: subscription.protocolVersion) }
            subscription.channel.writeAndFlush(buffer, promise: nil)
        }
    }
}

/// What one connection subscribes to, in subscription order (Redis replies in that order).
final class SentinelSubscription {
    let channel: any Channel
    /// The connection's RESP version: messages are push frames in RESP3, arrays in RESP2.
    var protocolVersion = ProtocolVersion.resp2
    private(set) var channels: [String] = []
    private(set) var patterns: [String] = []

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Channels and patterns together: the count Redis puts in every (un)subscribe reply.
    var count: Int { channels.count + patterns.count }

    /// `SUBSCRIBE` (or `PSUBSCRIBE` when `pattern`): one reply per name, as Redis gives.
    func subscribe(_ names: [String], pattern: Bool) -> [Reply] {
        names.map { name in
            if pattern {
                if !patterns.contains(name) { patterns.append(name) }
            } else if !channels.contains(name) {
                channels.append(name)
            }
            return Self.confirmation(pattern ? "psubscribe" : "subscribe", name, count)
        }
    }

    /// `UNSUBSCRIBE` (or `PUNSUBSCRIBE`); no names: every one, and with none at all one
    /// reply with a null name, as Redis gives.
    func unsubscribe(_ names: [String], pattern: Bool) -> [Reply] {
        let kind = pattern ? "punsubscribe" : "unsubscribe"
        let targets = names.isEmpty ? (pattern ? patterns : channels) : names
        guard !targets.isEmpty else { return [.push([.bulk(kind), .bulk(nil), .integer(Int64(count))])] }
        return targets.map { name in
            if pattern { patterns.removeAll { $0 == name } } else { channels.removeAll { $0 == name } }
            return Self.confirmation(kind, name, count)
        }
    }

    /// The `message` and `pmessage` replies this connection gets for one publication.
    func messages(channel name: String, message: String) -> [Reply] {
        var replies: [Reply] = []
        if channels.contains(name) { replies.append(.push([.bulk("message"), .bulk(name), .bulk(message)])) }
        for pattern in patterns where GlobPattern.matches(Array(pattern.utf8), Array(name.utf8)) {
            replies.append(.push([.bulk("pmessage"), .bulk(pattern), .bulk(name), .bulk(message)]))
        }
        return replies
    }

    private static func confirmation(_ kind: String, _ name: String, _ count: Int) -> Reply {
        .push([.bulk(kind), .bulk(name), .integer(Int64(count))])
    }
}
