/// Which commands a connection may run, given who it authenticated as: the rule Redis 7
/// applies with `requirepass` and ACL users, with Understudy's two permissions.
public enum AccessRule {
    /// What a connection that has not authenticated may still run. PING is here (unlike
    /// Redis 7.0, which refuses it) so that load balancers' TCP+PING probes keep working
    /// without a password; it reveals nothing but that the node is up.
    public static let allowedBeforeAuthentication: Set<String> = ["auth", "hello", "ping", "quit", "reset"]

    /// Commands a read-only user may not run even though they change no key: they change
    /// which node is primary, stop the node, or stream its log.
    public static let operatorCommands: Set<String> = ["failover", "promote", "drain", "fence", "replicate"]

    public static let noAuthReply = Reply.error("NOAUTH Authentication required.")

    /// Redis 7.0's answer to HELLO without AUTH on a connection that must authenticate.
    public static let helloNoAuthReply = Reply.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")

    public static let wrongPassReply = Reply.error("WRONGPASS invalid username-password pair or user is disabled.")

    /// Redis 7.0's answer to `AUTH password` when no password is configured.
    public static let noPasswordConfiguredReply = Reply.error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")

    /// The refusal for running `commandName` (lower-case), or nil when it may run.
    /// - Parameter permission: the connection's user's permission; nil: not authenticated.
    public static func refusal(commandName: String, isWrite: Bool, permission: UserTable.Permission?) -> Reply? {
        guard let permission else {
            return allowedBeforeAuthentication.contains(commandName) ? nil : noAuthReply
        }
        guard permission == .readOnly, isWrite || operatorCommands.contains(commandName) else { return nil }
        return .error("NOPERM this user has no permissions to run the '\(commandName)' command")
    }
}
