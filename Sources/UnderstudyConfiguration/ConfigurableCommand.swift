public import ArgumentParser

/// A command whose flags may also come from a config file and `UNDERSTUDY_*` environment
/// variables. Conforming is all it takes: every `@Option` and `@Flag` it declares, now and
/// later, becomes a key (see `ConfigurationResolver`).
public protocol ConfigurableCommand: ParsableCommand {
    /// `--config` and `--print-config`; declare it as
    /// `@OptionGroup var configurationOptions: ConfigurationOptions`.
    var configurationOptions: ConfigurationOptions { get }
    /// Keys whose values `--print-config` prints as `<redacted>` (password files and the
    /// like). Empty by default.
    static var secretConfigurationKeys: Set<String> { get }
    /// Keys that may come only from the config file or the environment, never from the
    /// command line, where `ps` shows every argument (a password). A command line giving
    /// one is refused; `--print-config` prints them redacted. Empty by default.
    static var commandLineForbiddenKeys: Set<String> { get }
}

extension ConfigurableCommand {
    public static var secretConfigurationKeys: Set<String> { [] }
    public static var commandLineForbiddenKeys: Set<String> { [] }
}

/// The two flags every configurable command adds.
public struct ConfigurationOptions: ParsableArguments, Sendable {
    @Option(help: "A YAML or JSON file of flags, keyed by flag name without '--' (e.g. 'data-dir: /var/lib/understudy'). Also UNDERSTUDY_CONFIG.")
    public var config: String?

    @Flag(help: "Print the effective configuration (every key, its value and where it came from) as a file --config reads, and exit without starting.")
    public var printConfig = false

    public init() {}
}
