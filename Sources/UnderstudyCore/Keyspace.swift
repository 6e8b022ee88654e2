/// The in-memory data set of one node (database 0).
///
/// A pure value: no clock, no I/O. Commands read it and produce `Effect`s; `apply(_:)`
/// is the only way it changes, so that executing a command and replaying its logged
/// effects always produce the same state.
public struct Keyspace: Sendable {
    public private(set) var entries: [[UInt8]: Entry]

    public init(entries: [[UInt8]: Entry] = [:]) {
        self.entries = entries
    }

    public var count: Int { entries.count }

    /// Applies one logged effect. Deterministic: uses no clock.
    public mutating func apply(_ effect: Effect) {
        switch effect {
        case .set(let key, let value, let expireAtMilliseconds):
            entries[key] = Entry(value: value, expireAtMilliseconds: expireAtMilliseconds)
        case .delete(let key):
            entries.removeValue(forKey: key)
        case .setExpiry(let key, let expireAtMilliseconds):
            entries[key]?.expireAtMilliseconds = expireAtMilliseconds
        case .rename(let from, let to):
            guard let entry = entries.removeValue(forKey: from) else { return }
            entries[to] = entry
        case .flushAll:
            entries.removeAll()
        }
    }

    public mutating func apply(_ effects: [Effect]) {
        for effect in effects { apply(effect) }
    }
}
