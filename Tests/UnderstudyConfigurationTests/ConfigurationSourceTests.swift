import Testing
import UnderstudyConfiguration

@Suite struct ConfigurationSourceTests {
    @Test func merge_laterLayerWinsPerKey() {
        let defaults = [ConfigurationSetting(key: "lease", values: ["500ms"], source: .defaultValue),
                        ConfigurationSetting(key: "fsync", values: ["always"], source: .defaultValue)]
        let file = [ConfigurationSetting(key: "lease", values: ["400ms"], source: .file(path: "/c.yaml")),
                    ConfigurationSetting(key: "listen", values: ["127.0.0.1:1"], source: .file(path: "/c.yaml"))]
        let environment = [ConfigurationSetting(key: "lease", values: ["300ms"], source: .environment(name: "UNDERSTUDY_LEASE"))]
        let merged = ConfigurationSetting.merge([defaults, file, environment])
        #expect(merged["lease"]?.values == ["300ms"])
        #expect(merged["lease"]?.source == .environment(name: "UNDERSTUDY_LEASE"))
        #expect(merged["listen"]?.source == .file(path: "/c.yaml"))
        #expect(merged["fsync"]?.source == .defaultValue)
    }

    @Test func description_namesTheSource() {
        #expect("\(ConfigurationSource.file(path: "/c.yaml"))" == "config file /c.yaml")
        #expect("\(ConfigurationSource.environment(name: "UNDERSTUDY_LEASE"))" == "environment variable UNDERSTUDY_LEASE")
        #expect(ConfigurationSource.commandLine.isOutsideCommandLine == false)
        #expect(ConfigurationSource.file(path: "/c.yaml").isOutsideCommandLine)
    }
}
