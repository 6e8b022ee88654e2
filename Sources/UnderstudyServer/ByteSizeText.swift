/// Sizes on the command line, read the way operators write them: `1048576`, `512KB`,
/// `1MB`, `2GB` (binary multiples, case-insensitive, `K`/`M`/`G` alone too). A bare
/// number is bytes.
public enum ByteSizeText {
    /// Bytes, or nil for anything else (negative, empty, unknown unit, overflow).
    public static func bytes(_ text: String) -> Int64? {
        let upper = text.uppercased()
        let units: [(suffix: String, shift: Int64)] = [
            ("KB", 10), ("MB", 20), ("GB", 30), ("K", 10), ("M", 20), ("G", 30), ("B", 0),
        ]
        var digits = Substring(upper)
        var shift: Int64 = 0
        for unit in units where upper.hasSuffix(unit.suffix) {
            digits = upper.dropLast(unit.suffix.count)
            shift = unit.shift
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: Int64(1) << shift)
        return overflow ? nil : scaled
    }
}
