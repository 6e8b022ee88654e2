/// The names one setting goes by: `data-dir` in a config file (the flag's long name without
/// `--`), `--data-dir` on the command line, `UNDERSTUDY_DATA_DIR` in the environment.
///
/// One rule maps every flag, present and future, so no list of keys is kept beside the
/// commands' own definitions.
public enum ConfigurationKey {
    /// Every environment variable Understudy reads starts with this.
    public static let environmentPrefix = "UNDERSTUDY_"

    /// `max-lag-on-failover` → `UNDERSTUDY_MAX_LAG_ON_FAILOVER`.
    public static func environmentName(forKey key: String) -> String {
        environmentPrefix + String(key.map { $0 == "-" ? "_" : Character($0.uppercased()) })
    }

    /// `UNDERSTUDY_MAX_LAG_ON_FAILOVER` → `max-lag-on-failover`; nil for a name without the
    /// prefix or with nothing after it.
    public static func key(forEnvironmentName name: String) -> String? {
        guard name.hasPrefix(environmentPrefix), name.count > environmentPrefix.count else { return nil }
        return String(name.dropFirst(environmentPrefix.count).map { $0 == "_" ? "-" : Character($0.lowercased()) })
    }
}
