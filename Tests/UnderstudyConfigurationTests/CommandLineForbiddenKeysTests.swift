import Testing
import UnderstudyConfiguration

@Suite struct CommandLineForbiddenKeysTests {
    private func resolver() throws -> ConfigurationResolver {
        ConfigurationResolver(
            options: try CommandOptions(of: SampleCommand.self), otherCommandsKeys: [], commandLineForbiddenKeys: ["password"])
    }

    private func resolve(_ commandLine: [String], environment: [String: String] = [:], files: [String: String] = [:]) throws
        -> EffectiveConfiguration
    {
        try resolver().resolve(commandLine: commandLine, environment: environment) { path in
            guard let text = files[path] else { throw ConfigurationError("no such file") }
            return text
        }
    }

    @Test(arguments: [["--data-dir", "/d", "--password", "hunter2"], ["--data-dir", "/d", "--password=hunter2"]])
    func forbiddenKey_onTheCommandLine_isRefusedSayingWhereItMayGo(commandLine: [String]) {
        do {
            _ = try resolve(commandLine)
            Issue.record("--password on the command line was accepted")
        } catch let error as ConfigurationError {
            #expect(error.message.contains("--password cannot be given on the command line"))
            #expect(error.message.contains("UNDERSTUDY_PASSWORD"))
            #expect(!error.message.contains("hunter2"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func forbiddenKey_fromEnvironmentOrFile_reachesTheCommand_andPrintsRedacted() throws {
        let fromEnvironment = try resolve(["--data-dir", "/d"], environment: ["UNDERSTUDY_PASSWORD": "hunter2"])
        #expect(try Sample.parse(fromEnvironment).password == "hunter2")
        let fromFile = try resolve(["--config", "/c.yaml"], files: ["/c.yaml": "data-dir: /d\npassword: hunter2\n"])
        #expect(try Sample.parse(fromFile).password == "hunter2")
        let printed = fromFile.renderedAsFile(secretKeys: ["password"])
        #expect(printed.contains("password: \"<redacted>\""))
        #expect(!printed.contains("hunter2"))
    }
}
