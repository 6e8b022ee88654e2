import Testing
import UnderstudyConfiguration

@Suite struct ConfigurationFileTests {
    @Test func yamlMapping_readsKeysValuesAndLines() throws {
        let file = try ConfigurationFile(path: "/c.yaml", text: "data-dir: /var/x\nlease: 400ms\ntag: [a, b]\nverbose: true\n")
        #expect(file.entries.map(\.key) == ["data-dir", "lease", "tag", "verbose"])
        #expect(file.entries.map(\.values) == [["/var/x"], ["400ms"], ["a", "b"], ["true"]])
        #expect(file.entries.map(\.line) == [1, 2, 3, 4])
    }

    @Test func json_readsTheSame() throws {
        let file = try ConfigurationFile(path: "/c.json", text: #"{"data-dir": "/var/x", "max-connections": 100, "verbose": false}"#)
        #expect(file.entries.map(\.values) == [["/var/x"], ["100"], ["false"]])
    }

    @Test func emptyFile_hasNoEntries() throws {
        #expect(try ConfigurationFile(path: "/c.yaml", text: "# nothing yet\n").entries.isEmpty)
    }

    @Test(arguments: [
        ("lease:\n", "has no value"),
        ("lease: {a: 1}\n", "not a mapping"),
        ("- lease\n", "must be a mapping"),
        ("lease: 1s\nlease: 2s\n", "duplicated key"),
        ("lease: [1s\n", "not valid YAML"),
    ])
    func malformedFile_isRefusedWithReason(text: String, reason: String) {
        do {
            _ = try ConfigurationFile(path: "/c.yaml", text: text)
            Issue.record("accepted \(text)")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("config file /c.yaml"))
            #expect(error.message.contains(reason), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
