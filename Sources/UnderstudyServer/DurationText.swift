/// Durations on the command line, read the way operators write them: `100ms`, `1s`,
/// `1.5s`, `2m`. A bare number is milliseconds.
public enum DurationText {
    /// Milliseconds, or nil for anything else (negative, empty, unknown unit, overflow).
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        var number = Substring(text)
        var scale = 1.0
        for unit in units where text.hasSuffix(unit.suffix) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.milliseconds
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }),
              let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let milliseconds = (value * scale).rounded()
        guard milliseconds < 1e15 else { return nil }
        return Int64(milliseconds)
    }
}
