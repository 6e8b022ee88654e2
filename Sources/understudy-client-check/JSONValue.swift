/// Just enough JSON to print one report line (no Foundation in this package).
enum JSONValue: Sendable {
    case integer(Int64)
    case string(String)
    case null
    case array([JSONValue])
    /// Members in the order given (the report reads top-down).
    case object([(String, JSONValue)])

    static func integer(_ value: Int) -> JSONValue { .integer(Int64(value)) }

    /// One line: no newline inside, none at the end.
    var rendered: String {
        switch self {
        case .integer(let value):
            return String(value)
        case .null:
            return "null"
        case .string(let text):
            return Self.quoted(text)
        case .array(let elements):
            return "[" + elements.map(\.rendered).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { Self.quoted($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
