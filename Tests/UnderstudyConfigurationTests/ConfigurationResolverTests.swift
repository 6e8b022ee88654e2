import Testing
import UnderstudyConfiguration

@Suite struct ConfigurationResolverTests {
    static let file = "data-dir: /from-file\nlease: 400\nfailure-timeout: 2000\n"

    @Test func precedence_commandLineOverEnvironmentOverFileOverDefault() throws {
        let resolved = try Sample.resolve(
            ["--config", "/c.yaml", "--lease", "200"],
            environment: ["UNDERSTUDY_LEASE": "300", "UNDERSTUDY_FAILURE_TIMEOUT": "3000"], files: ["/c.yaml": Self.file])
        #expect(resolved.setting(forKey: "lease")?.source == .commandLine)
        #expect(resolved.setting(forKey: "failure-timeout")?.source == .environment(name: "UNDERSTUDY_FAILURE_TIMEOUT"))
        #expect(resolved.setting(forKey: "data-dir")?.source == .file(path: "/c.yaml"))
        #expect(resolved.setting(forKey: "verbose")?.source == .defaultValue)
        let command = try Sample.parse(resolved)
        #expect(command.lease == 200)
        #expect(command.failureTimeout == 3_000)
        #expect(command.dataDir == "/from-file")
    }

    @Test func configPath_fromEnvironment_isRead() throws {
        let resolved = try Sample.resolve([], environment: ["UNDERSTUDY_CONFIG": "/c.yaml"], files: ["/c.yaml": Self.file])
        #expect(resolved.configPath == "/c.yaml")
        #expect(try Sample.parse(resolved).dataDir == "/from-file")
    }

    @Test func configPath_onCommandLine_winsOverEnvironment() throws {
        let resolved = try Sample.resolve(
            ["--config", "/c.yaml"], environment: ["UNDERSTUDY_CONFIG": "/other.yaml"],
            files: ["/c.yaml": Self.file, "/other.yaml": "data-dir: /from-other\n"])
        #expect(resolved.configPath == "/c.yaml")
        #expect(try Sample.parse(resolved).dataDir == "/from-file")
    }

    @Test func flags_andListsFromFile_reachTheCommand() throws {
        let text = "data-dir: /d\nverbose: true\nchecksums: false\ntag: [a, b]\n"
        let command = try Sample.parse(Sample.resolve(["--config", "/c.yaml"], files: ["/c.yaml": text]))
        #expect(command.verbose)
        #expect(!command.checksums)
        #expect(command.tag == ["a", "b"])
    }

    @Test func unknownFileKey_isRefusedWithSuggestion() {
        #expect {
            try Sample.resolve(["--config", "/c.yaml"], files: ["/c.yaml": "data-dir: /d\nfailure-timout: 2000\n"])
        } throws: { error in
            "\(error)".contains("config file /c.yaml: unknown key 'failure-timout' (did you mean 'failure-timeout'?)")
        }
    }

    @Test func configKeyInsideFile_isRefused() {
        #expect(throws: ConfigurationError.self) {
            try Sample.resolve(["--config", "/c.yaml"], files: ["/c.yaml": "config: /other.yaml\n"])
        }
    }

    @Test func listForSingleValuedKey_isRefused() {
        #expect(throws: ConfigurationError.self) {
            try Sample.resolve(["--config", "/c.yaml"], files: ["/c.yaml": "lease: [1s, 2s]\n"])
        }
    }

    @Test func nonBooleanFlagValue_isRefusedNamingTheSource() {
        #expect {
            try Sample.resolve(["--data-dir", "/d"], environment: ["UNDERSTUDY_VERBOSE": "maybe"])
        } throws: { error in
            "\(error)".contains("environment variable UNDERSTUDY_VERBOSE: --verbose is a flag")
        }
    }

    @Test func unreadableFile_isRefusedNamingIt() {
        #expect { try Sample.resolve(["--config", "/missing.yaml"]) } throws: { error in
            "\(error)".contains("config file /missing.yaml: cannot read it")
        }
    }

    @Test func unknownEnvironmentVariable_isRefusedWithSuggestion() {
        #expect {
            try Sample.resolve(["--data-dir", "/d"], environment: ["UNDERSTUDY_LEASES": "1s"])
        } throws: { error in
            "\(error)".contains("UNDERSTUDY_LEASES names no flag of 'understudy sample' (did you mean UNDERSTUDY_LEASE?)")
        }
    }

    @Test func environmentForOtherCommand_andReservedNames_areIgnored() throws {
        let resolved = try Sample.resolve(
            ["--data-dir", "/d"], environment: ["UNDERSTUDY_NODES": "a,b", "UNDERSTUDY_BIN": "/bin/x", "HOME": "/root"])
        #expect(resolved.arguments == ["sample", "--data-dir", "/d"])
    }

    @Test func printConfigInEnvironment_isRefused() {
        #expect(throws: ConfigurationError.self) {
            try Sample.resolve(["--data-dir", "/d"], environment: ["UNDERSTUDY_PRINT_CONFIG": "true"])
        }
    }

    @Test func commandLineKeys_areNotRepeatedFromLowerLayers() throws {
        let resolved = try Sample.resolve(
            ["--lease=250", "--data-dir", "/d"], environment: ["UNDERSTUDY_LEASE": "300"])
        #expect(resolved.arguments == ["sample", "--lease=250", "--data-dir", "/d"])
        #expect(resolved.setting(forKey: "lease")?.values == ["250"])
    }
}
