import Testing
import UnderstudyConfiguration

@Suite struct CommandOptionsTests {
    @Test func options_ofCommand_areEveryDeclaredFlagInOrder_withoutHelp() throws {
        let options = try CommandOptions(of: SampleCommand.self)
        #expect(options.commandName == "sample")
        #expect(options.keys == ["data-dir", "lease", "failure-timeout", "password", "verbose", "checksums", "tag", "config", "print-config"])
    }

    @Test func options_carryKindDefaultAndRepetition() throws {
        let options = try CommandOptions(of: SampleCommand.self)
        #expect(options.option(forKey: "lease")?.defaultValue == "500")
        #expect(options.option(forKey: "lease")?.kind == .option)
        #expect(options.option(forKey: "data-dir")?.defaultValue == nil)
        #expect(options.option(forKey: "verbose")?.kind == .flag)
        #expect(options.option(forKey: "tag")?.isRepeating == true)
        #expect(options.option(forKey: "checksums")?.commandLineNames.contains("--no-checksums") == true)
    }

    @Test func optionForCommandLineToken_matchesWithAndWithoutValue() throws {
        let options = try CommandOptions(of: SampleCommand.self)
        #expect(options.option(forCommandLineToken: "--data-dir")?.key == "data-dir")
        #expect(options.option(forCommandLineToken: "--lease=1s")?.key == "lease")
        #expect(options.option(forCommandLineToken: "--no-checksums")?.key == "checksums")
        #expect(options.option(forCommandLineToken: "--leases") == nil)
    }

    @Test func dumpOfAnotherFormatVersion_isRefused() {
        #expect(throws: ConfigurationError.self) {
            try CommandOptions(dumpHelpJSON: #"{"serializationVersion": 1, "command": {"commandName": "x"}}"#)
        }
    }
}
