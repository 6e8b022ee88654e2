import Logging
import NIOCore
import NIOEmbedded
import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct SentinelHubTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]

    private func view(primary: Int, epoch: UInt64) -> SentinelView? {
        SentinelView(
            masterName: "understudy",
            record: WitnessRecord(epoch: Epoch(epoch), primary: nodes[primary], standby: nodes[1 - primary], standbyInSync: true,
                                  mode: .sync, leaseMilliseconds: 500),
            lastReport: nil, contacts: WitnessContacts(nodes: nodes, startedAtMilliseconds: 0), downAfterMilliseconds: 1_000,
            nowMilliseconds: 0)
    }

    private func hub() -> SentinelHub {
        SentinelHub(masterName: "understudy", myID: String(repeating: "0", count: 40), downAfterMilliseconds: 1_000,
                    logger: TestNode.logger)
    }

    /// Everything written to `channel` so far, as text.
    private func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Finishes each channel at the end of a test: an unfinished `EmbeddedChannel` keeps its
    /// pipeline alive (a leak under `scripts/sanitize address`).
    private func finish(_ channels: EmbeddedChannel...) throws {
        for channel in channels { _ = try channel.finish(acceptAlreadyClosed: true) }
    }

    @Test func subscribeAndUnsubscribe_replyAsRedisDoes() throws {
        let channel = EmbeddedChannel()
        let subscription = SentinelSubscription(channel: channel)
        #expect(subscription.subscribe(["+switch-master", "+sdown"], pattern: false) == [
            .push([.bulk("subscribe"), .bulk("+switch-master"), .integer(1)]),
            .push([.bulk("subscribe"), .bulk("+sdown"), .integer(2)]),
        ])
        #expect(subscription.subscribe(["*"], pattern: true) == [.push([.bulk("psubscribe"), .bulk("*"), .integer(3)])])
        #expect(subscription.unsubscribe([], pattern: false) == [
            .push([.bulk("unsubscribe"), .bulk("+switch-master"), .integer(2)]),
            .push([.bulk("unsubscribe"), .bulk("+sdown"), .integer(1)]),
        ])
        #expect(subscription.unsubscribe([], pattern: false) == [.push([.bulk("unsubscribe"), .bulk(nil), .integer(1)])])
        #expect(subscription.unsubscribe(["*"], pattern: true) == [.push([.bulk("punsubscribe"), .bulk("*"), .integer(0)])])
        try finish(channel)
    }

    @Test func aSwitchOfPrimary_reachesChannelAndPatternSubscribers() throws {
        let hub = hub()
        let exact = EmbeddedChannel()
        let patterned = EmbeddedChannel()
        let onChannel = SentinelSubscription(channel: exact)
        _ = onChannel.subscribe(["+switch-master"], pattern: false)
        let onPattern = SentinelSubscription(channel: patterned)
        _ = onPattern.subscribe(["+switch*"], pattern: true)
        hub.update(onChannel)
        hub.update(onPattern)
        hub.publish(view(primary: 0, epoch: 1))
        #expect(try written(exact).isEmpty)
        hub.publish(view(primary: 1, epoch: 2))
        let payload = "understudy 127.0.0.1 7001 127.0.0.1 7002"
        #expect(try written(exact) == "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$\(payload.utf8.count)\r\n\(payload)\r\n")
        #expect(try written(patterned)
            == "*4\r\n$8\r\npmessage\r\n$8\r\n+switch*\r\n$14\r\n+switch-master\r\n$\(payload.utf8.count)\r\n\(payload)\r\n")
        #expect(hub.view?.master.endpoint.port == 7002)
        try finish(exact, patterned)
    }

    @Test func aSubscriberPastItsPendingBytesLimit_isDroppedAndClosed() throws {
        let hub = hub()
        let slow = EmbeddedChannel()
        let reading = EmbeddedChannel()
        for channel in [slow, reading] {
            let subscription = SentinelSubscription(channel: channel)
            _ = subscription.subscribe(["+new-epoch"], pattern: false)
            hub.update(subscription)
        }
        hub.publish(view(primary: 0, epoch: 1))
        slow.isWritable = false  // its unsent bytes passed the write-buffer high-water mark
        hub.publish(view(primary: 0, epoch: 2))
        #expect(hub.subscriberCount == 1)
        #expect(!slow.isActive)
        #expect(try written(slow).isEmpty)
        #expect(try written(reading).contains("+new-epoch"))
        try finish(slow, reading)
    }

    @Test func anUnsubscribedConnection_leavesTheHub() throws {
        let hub = hub()
        let channel = EmbeddedChannel()
        let subscription = SentinelSubscription(channel: channel)
        _ = subscription.subscribe(["+sdown"], pattern: false)
        hub.update(subscription)
        #expect(hub.subscriberCount == 1)
        _ = subscription.unsubscribe(["+sdown"], pattern: false)
        hub.update(subscription)
        #expect(hub.subscriberCount == 0)
        try finish(channel)
    }
}
