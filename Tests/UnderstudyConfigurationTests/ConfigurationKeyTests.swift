import Testing
import UnderstudyConfiguration

@Suite struct ConfigurationKeyTests {
    @Test func environmentName_ofKey_isUpperSnakeCaseWithPrefix() {
        #expect(ConfigurationKey.environmentName(forKey: "data-dir") == "UNDERSTUDY_DATA_DIR")
        #expect(ConfigurationKey.environmentName(forKey: "max-lag-on-failover") == "UNDERSTUDY_MAX_LAG_ON_FAILOVER")
        #expect(ConfigurationKey.environmentName(forKey: "listen") == "UNDERSTUDY_LISTEN")
    }

    @Test func key_ofEnvironmentName_roundTrips() {
        for key in ["data-dir", "max-lag-on-failover", "fsync", "wal-segment-bytes"] {
            #expect(ConfigurationKey.key(forEnvironmentName: ConfigurationKey.environmentName(forKey: key)) == key)
        }
    }

    @Test func key_ofNameWithoutPrefix_isNil() {
        #expect(ConfigurationKey.key(forEnvironmentName: "HOME") == nil)
        #expect(ConfigurationKey.key(forEnvironmentName: "UNDERSTUDY_") == nil)
        #expect(ConfigurationKey.key(forEnvironmentName: "XUNDERSTUDY_LISTEN") == nil)
    }
}
