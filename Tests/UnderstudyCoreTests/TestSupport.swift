@testable import UnderstudyCore

/// A tiny deterministic generator (SplitMix64) so that tests replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Drives a keyspace in tests: runs commands at a settable time and keeps every effect.
struct KeyspaceHarness {
    var keyspace = Keyspace()
    var nowMilliseconds: Int64 = 1_700_000_000_000
    var random = SeededGenerator(seed: 42)
    var lastEffects: [Effect] = []

    @discardableResult
    mutating func run(_ words: String...) -> Reply {
        run(words)
    }

    @discardableResult
    mutating func run(_ words: [String]) -> Reply {
        runBytes(words.map { Array($0.utf8) })
    }

    @discardableResult
    mutating func runBytes(_ arguments: [[UInt8]]) -> Reply {
        let execution = keyspace.execute(Command(arguments: arguments), nowMilliseconds: nowMilliseconds, random: &random)
        lastEffects = execution.effects
        return execution.reply
    }

    func value(_ key: String) -> String? {
        keyspace.entries[Array(key.utf8)].map { String(decoding: $0.value, as: UTF8.self) }
    }

    func expiry(_ key: String) -> Int64? {
        keyspace.entries[Array(key.utf8)]?.expireAtMilliseconds
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension Reply {
    static func strings(_ items: [String]) -> Reply { .array(items.map { .bulk($0) }) }
}
