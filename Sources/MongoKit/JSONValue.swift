import Foundation
import TextEscaping

/// A JSON value whose objects keep their key order (an index's key pattern depends on it), with a writer
/// whose numbers are JSON numbers: integers stay exact, and a double that is not finite, which JSON cannot
/// carry, is written as relaxed Extended JSON does (`{"$numberDouble": "NaN"}`).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of `key` in an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// The JSON text, indented by two spaces per level when `pretty`.
    public func text(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: pretty ? 0 : nil)
        return out
    }

    private func write(to out: inout String, indent: Int?) {
        let newline = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
        let closing = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
        let separator = indent == nil ? ":" : ": "
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d):
            if d.isFinite {
                // Swift prints the shortest text that reads back as the same double.
                out += d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
            } else {
                JSONValue.object([("$numberDouble", .string(d.isNaN ? "NaN" : d > 0 ? "Infinity" : "-Infinity"))])
                    .write(to: &out, indent: indent)
            }
        case .string(let s): JSONValue.quote(s, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (position, item) in items.enumerated() {
                out += (position == 0 ? "" : ",") + newline
                item.write(to: &out, indent: indent.map { $0 + 1 })
            }
            out += closing + "]"
        case .object(let fields):
            guard !fields.isEmpty else { out += "{}"; return }
            out += "{"
            for (position, (key, value)) in fields.enumerated() {
                out += (position == 0 ? "" : ",") + newline
                JSONValue.quote(key, into: &out)
                out += separator
                value.write(to: &out, indent: indent.map { $0 + 1 })
            }
            out += closing + "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) { Escape.appendJSONString(text, to: &out) }
}

extension BSONValue {
    /// The value as relaxed Extended JSON (MongoDB's Extended JSON v2 specification): numbers that JSON can
    /// carry exactly as numbers, every other type as its `$`-wrapper.
    public var extendedJSON: JSONValue {
        switch self {
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .document(let d): return d.extendedJSON
        case .array(let items): return .array(items.map(\.extendedJSON))
        case .binary(let subtype, let data):
            return .object([
                ("$binary", .object([("base64", .string(data.base64EncodedString())), ("subType", .string(String(format: "%02x", subtype)))]))
            ])
        case .undefined: return .object([("$undefined", .bool(true))])
        case .objectId(let id): return .object([("$oid", .string(id.hex))])
        case .bool(let b): return .bool(b)
        case .datetime(let date):
            let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
            // Relaxed form only for years 1970 to 9999, as the specification says; canonical otherwise.
            guard milliseconds >= 0, milliseconds < 253_402_300_800_000 else {
                let text = milliseconds.isFinite && abs(milliseconds) < 9.2e18 ? String(Int64(milliseconds)) : "\(milliseconds)"
                return .object([("$date", .object([("$numberLong", .string(text))]))])
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return .object([("$date", .string(formatter.string(from: date)))])
        case .null: return .null
        case .regex(let pattern, let options):
            return .object([("$regularExpression", .object([("pattern", .string(pattern)), ("options", .string(options))]))])
        case .dbPointer(let collection, let id):
            return .object([("$dbPointer", .object([("$ref", .string(collection)), ("$id", BSONValue.objectId(id).extendedJSON)]))])
        case .javascript(let code): return .object([("$code", .string(code))])
        case .symbol(let s): return .object([("$symbol", .string(s))])
        case .javascriptWithScope(let code, let scope): return .object([("$code", .string(code)), ("$scope", scope.extendedJSON)])
        case .int32(let i): return .integer(Int64(i))
        case .timestamp(let seconds, let increment):
            return .object([("$timestamp", .object([("t", .integer(Int64(seconds))), ("i", .integer(Int64(increment)))]))])
        case .int64(let i): return .integer(i)
        case .decimal128(let s): return .object([("$numberDecimal", .string(s))])
        case .minKey: return .object([("$minKey", .integer(1))])
        case .maxKey: return .object([("$maxKey", .integer(1))])
        }
    }
}

extension Document {
    /// The document as relaxed Extended JSON, keys in their order.
    public var extendedJSON: JSONValue { .object(elements.map { ($0.0, $0.1.extendedJSON) }) }
}
