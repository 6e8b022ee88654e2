import UnderstudyCore
import Testing
import UnderstudyServer

@Suite struct ListenAddressTests {
    @Test func parsing_hostAndPort() {
        #expect(ListenAddress(parsing: "127.0.0.1:6380") == ListenAddress(host: "127.0.0.1", port: 6380))
        #expect(ListenAddress(parsing: "[::1]:7000") == ListenAddress(host: "::1", port: 7000))
        #expect(ListenAddress(parsing: "localhost:0")?.port == 0)
    }

    @Test func parsing_rejectsBadInput() {
        for text in ["", "6380", ":6380", "host:", "host:65536", "host:-1", "host:port"] {
            #expect(ListenAddress(parsing: text) == nil, "\(text)")
        }
    }

    @Test func description_bracketsIPv6() {
        #expect(ListenAddress(host: "::1", port: 1).description == "[::1]:1")
        #expect(ListenAddress(host: "127.0.0.1", port: 1).description == "127.0.0.1:1")
    }
}
