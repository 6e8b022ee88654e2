import Testing
import UnderstudyConfiguration

@Suite struct EffectiveConfigurationTests {
    @Test func rendered_listsEveryKeyWithItsSource() throws {
        let resolved = try Sample.resolve(["--data-dir", "/d", "--verbose"], environment: ["UNDERSTUDY_LEASE": "300"])
        let text = resolved.renderedAsFile()
        #expect(text.contains("data-dir: /d  # command line\n"))
        #expect(text.contains("lease: 300  # environment variable UNDERSTUDY_LEASE\n"))
        #expect(text.contains("failure-timeout: 1000  # default\n"))
        #expect(text.contains("verbose: true  # command line\n"))
        #expect(text.contains("# password: not set\n"))
        #expect(!text.contains("print-config:"))
    }

    @Test func rendered_readBack_givesTheSameValues() throws {
        let resolved = try Sample.resolve(
            ["--data-dir", "/my dir/\"quoted\"", "--no-checksums", "--tag", "yes", "--tag", "b,c"],
            environment: ["UNDERSTUDY_LEASE": "300"])
        let again = try Sample.resolve(["--config", "/printed.yaml"], files: ["/printed.yaml": resolved.renderedAsFile()])
        for setting in resolved.settings where setting.key != "config" {
            #expect(again.setting(forKey: setting.key)?.values == setting.values, "\(setting.key)")
        }
        #expect(again.renderedAsFile().contains("lease: 300  # config file /printed.yaml"))
        let command = try Sample.parse(again)
        #expect(command.dataDir == "/my dir/\"quoted\"")
        #expect(!command.checksums)
        #expect(command.tag == ["yes", "b,c"])
    }

    @Test func secretKeys_areRedacted() throws {
        let resolved = try Sample.resolve(["--data-dir", "/d", "--password", "hunter2"])
        let text = resolved.renderedAsFile(secretKeys: SampleCommand.secretConfigurationKeys)
        #expect(text.contains("password: \"<redacted>\""))
        #expect(!text.contains("hunter2"))
    }

    @Test func sourcesOfKeys_namesEachMentionedFlag_whenOneCameFromOutside() throws {
        let resolved = try Sample.resolve(["--data-dir", "/d"], environment: ["UNDERSTUDY_LEASE": "2000"])
        let sources = resolved.sourcesOfKeys(mentionedIn: "--lease must be shorter than --failure-timeout")
        #expect(sources == [
            "--lease = 2000 (from environment variable UNDERSTUDY_LEASE)",
            "--failure-timeout = 1000 (from default)",
        ])
        #expect(resolved.sourcesOfKeys(mentionedIn: "--failure-timeout must be positive") == nil)
        #expect(resolved.sourcesOfKeys(mentionedIn: "--lease-extra is wrong") == nil)
    }
}
