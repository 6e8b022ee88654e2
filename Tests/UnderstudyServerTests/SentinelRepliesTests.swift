import Testing
import UnderstudyCore
@testable import UnderstudyServer

@Suite struct SentinelRepliesTests {
    let nodes = ["127.0.0.1:7001", "127.0.0.1:7002"]

    private func view(standbyHeardAt: Int64 = 0, now: Int64 = 500) -> SentinelView? {
        var contacts = WitnessContacts(nodes: nodes, startedAtMilliseconds: standbyHeardAt)
        contacts.heard(.hello(node: nodes[1], hint: nil, epoch: Epoch(1), lastLSN: .zero),
                       member: { $0 }, nowMilliseconds: now)
        let record = WitnessRecord(epoch: Epoch(7), primary: nodes[1], standby: nodes[0], standbyInSync: true, mode: .sync,
                                   leaseMilliseconds: 500)
        let report = WitnessHeartbeat(node: nodes[1], epoch: Epoch(7), mode: .sync, leaseMilliseconds: 500, lastWrittenLSN: LSN(9),
                                      standbyDurableLSN: LSN(8), standbyLagBytes: 0, standbyAttached: true)
        return SentinelView(masterName: "understudy", record: record, lastReport: report, contacts: contacts,
                            downAfterMilliseconds: 1_000, nowMilliseconds: now)
    }

    private func replies(_ view: SentinelView?) -> SentinelReplies {
        SentinelReplies(masterName: "understudy", myID: String(repeating: "a", count: 40), view: view)
    }

    private func ask(_ view: SentinelView?, _ words: String...) -> Reply {
        replies(view).answer(words.map { Array($0.utf8) })
    }

    /// An instance's field map (a flat field/value array in RESP2) as a dictionary, as clients parse it.
    private func fields(_ reply: Reply) -> [String: String] {
        guard case .map(let entries) = reply else { return [:] }
        var result: [String: String] = [:]
        for entry in entries {
            if case .bulk(let key?) = entry.key, case .bulk(let value?) = entry.value {
                result[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            }
        }
        return result
    }

    @Test func getMasterAddrByName_anyCase_givesIPAndPort() {
        let expected = Reply.array([.bulk("127.0.0.1"), .bulk("7002")])
        #expect(ask(view(), "SENTINEL", "get-master-addr-by-name", "understudy") == expected)
        #expect(ask(view(), "sentinel", "GET-PRIMARY-ADDR-BY-NAME", "understudy") == expected)
    }

    @Test func getMasterAddrByName_ofAnUnknownNameOrWithoutAPrimary_isANullArray() {
        #expect(ask(view(), "SENTINEL", "get-master-addr-by-name", "other") == .array(nil))
        #expect(ask(nil, "SENTINEL", "get-master-addr-by-name", "understudy") == .array(nil))
    }

    @Test func master_hasTheFieldsClientsParse() {
        let master = fields(ask(view(), "SENTINEL", "MASTER", "understudy"))
        #expect(master["name"] == "understudy")
        #expect(master["ip"] == "127.0.0.1" && master["port"] == "7002")
        #expect(master["flags"] == "master")
        #expect(master["config-epoch"] == "7")
        #expect(master["num-slaves"] == "1" && master["num-other-sentinels"] == "0" && master["quorum"] == "1")
        #expect(master["down-after-milliseconds"] == "1000")
        #expect(master["role-reported"] == "master")
        guard case .array(let masters?) = ask(view(), "SENTINEL", "masters"), masters.count == 1 else {
            Issue.record("expected one master"); return
        }
        #expect(fields(masters[0]) == master)
    }

    @Test func replicas_andSlaves_describeTheStandby_downWhenUnheard() {
        let healthy = ask(view(), "SENTINEL", "replicas", "understudy")
        #expect(healthy == ask(view(), "SENTINEL", "SLAVES", "understudy"))
        guard case .array(let list?) = healthy, list.count == 1 else { Issue.record("expected one replica: \(healthy)"); return }
        let replica = fields(list[0])
        #expect(replica["name"] == "127.0.0.1:7001" && replica["port"] == "7001" && replica["flags"] == "slave")
        #expect(replica["master-link-status"] == "ok" && replica["master-host"] == "127.0.0.1" && replica["master-port"] == "7002")
        #expect(replica["slave-repl-offset"] == "8")
        guard case .array(let silent?) = ask(view(now: 1_600), "SENTINEL", "replicas", "understudy") else {
            Issue.record("expected a list"); return
        }
        let down = fields(silent[0])
        #expect(down["flags"] == "s_down,slave,disconnected")
        #expect(down["master-link-status"] == "err")
        #expect(down["s-down-time"] == "600")
    }

    @Test func unknownNames_andUnknownSubcommands_getSentinelsErrors() {
        #expect(ask(view(), "SENTINEL", "master", "nope") == .error("ERR No such master with that name"))
        #expect(ask(view(), "SENTINEL", "replicas", "nope") == .error("ERR No such master with that name"))
        #expect(ask(view(), "SENTINEL", "ckquorum", "nope") == .error("ERR No such master with that name"))
        #expect(ask(view(), "SENTINEL", "failover", "understudy") == .error("ERR unknown subcommand 'failover'. Try SENTINEL HELP."))
        #expect(ask(view(), "SENTINEL", "master") == .error("ERR wrong number of arguments for 'sentinel|master' command"))
    }

    @Test func theWitnessIsTheOnlySentinel() {
        #expect(ask(view(), "SENTINEL", "sentinels", "understudy") == .array([]))
        #expect(ask(view(), "SENTINEL", "myid") == .bulk(String(repeating: "a", count: 40)))
        #expect(ask(view(), "SENTINEL", "CKQUORUM", "understudy")
            == .simple("OK 1 usable Sentinels. Quorum and failover authorization can be reached"))
        #expect(replies(nil).role == .array([.bulk("sentinel"), .array([.bulk("understudy")])]))
        #expect(ask(nil, "SENTINEL", "masters") == .array([]))
    }
}
