/// Whether the primary runs a write now (decided before the command executes, so a
/// refused write changes nothing).
public enum Admission: Hashable, Sendable {
    case accept
    /// Answer `-<message>` without running the command.
    case refuse(message: String)
}
