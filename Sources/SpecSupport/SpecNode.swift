import Foundation
import MongoKit
import Yams

/// An error in a spec file, pointing at the file, line and field so it can be fixed without guessing.
public struct SpecError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let column: Int?
    public let field: String
    public let message: String

    public init(file: String, line: Int?, column: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        let position = [line, column].compactMap { $0 }.map(String.init).joined(separator: ":")
        let location = position.isEmpty ? file : "\(file):\(position)"
        return field.isEmpty ? "\(location): \(message)" : "\(location): \(field): \(message)"
    }
}

/// A node of a parsed YAML (or JSON) spec that knows where it came from, so every read can fail with the
/// file, line and dotted field of the offending value.
public struct SpecNode {
    public let node: Node
    public let file: String
    public let path: String
    /// Whether documents read below this node may hold server-side JavaScript (`$where`, `$function`,
    /// `$accumulator`, code values); refused unless the file says `allow_javascript: true`.
    public let allowsJavaScript: Bool

    public init(node: Node, file: String, path: String = "", allowsJavaScript: Bool = false) {
        self.node = node
        self.file = file
        self.path = path
        self.allowsJavaScript = allowsJavaScript
    }

    /// This node, and every node read below it, allowing server-side JavaScript.
    package func allowingJavaScript() -> SpecNode { SpecNode(node: node, file: file, path: path, allowsJavaScript: true) }

    /// The most text a spec or migration file may hold.
    package static let maxTextBytes = 4 << 20
    /// The most nodes a file may expand to, aliases counted at every use: a YAML alias bomb ("billion
    /// laughs") is a few lines that expand exponentially, and is refused at this bound.
    package static let maxNodes = 200_000
    /// The deepest nesting of mappings and lists a file may have.
    package static let maxDepth = 64

    /// Parses YAML or JSON text. Syntax errors carry the line the parser stopped at; text over the size,
    /// node or depth bounds is refused before any of it is read as a spec.
    package static func parse(_ text: String, file: String) throws -> SpecNode {
        guard text.utf8.count <= maxTextBytes else {
            throw SpecError(file: file, line: nil, column: nil, field: "", message: "the file is larger than \(maxTextBytes >> 20) MiB")
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SpecError(file: file, line: 1, column: nil, field: "", message: "the spec is empty")
            }
            var budget = maxNodes
            try checkBounds(node, depth: 0, budget: &budget, file: file)
            return SpecNode(node: node, file: file)
        } catch let error as YamlError {
            throw SpecNode.specError(from: error, file: file)
        }
    }

    /// Walks the tree as a reader would see it (aliases expanded) and stops at the first bound it passes.
    /// Aliases share storage in the composed tree, so composing costs little; this walk is what bounds the rest.
    private static func checkBounds(_ node: Node, depth: Int, budget: inout Int, file: String) throws {
        budget -= 1
        guard budget >= 0 else {
            throw SpecError(
                file: file, line: node.mark?.line, column: node.mark?.column, field: "",
                message: "the file expands to more than \(maxNodes) values (YAML aliases?); refusing to read it")
        }
        guard depth <= maxDepth else {
            throw SpecError(
                file: file, line: node.mark?.line, column: node.mark?.column, field: "", message: "nested deeper than \(maxDepth) levels")
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                try checkBounds(key, depth: depth + 1, budget: &budget, file: file)
                try checkBounds(value, depth: depth + 1, budget: &budget, file: file)
            }
        case .sequence(let sequence):
            for item in sequence { try checkBounds(item, depth: depth + 1, budget: &budget, file: file) }
        case .scalar, .alias:
            break
        }
    }

    private static func specError(from error: YamlError, file: String) -> SpecError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return SpecError(file: file, line: mark.line, column: mark.column, field: "", message: "invalid YAML: \(problem)")
        case .composer(_, let problem, let mark, _):
            return SpecError(file: file, line: mark.line, column: mark.column, field: "", message: "invalid YAML: \(problem)")
        default:
            return SpecError(file: file, line: nil, column: nil, field: "", message: "invalid YAML: \(error)")
        }
    }

    public var line: Int? { node.mark?.line }

    public func error(_ message: String) -> SpecError {
        SpecError(file: file, line: node.mark?.line, column: node.mark?.column, field: path, message: message)
    }

    private func child(_ node: Node, _ component: String) -> SpecNode {
        SpecNode(node: node, file: file, path: path.isEmpty ? component : "\(path).\(component)", allowsJavaScript: allowsJavaScript)
    }

    /// The fields of a mapping, in order. Rejects anything that is not a mapping and any key not in `allowed`.
    public func mapping(allowed: [String]? = nil) throws -> [(key: String, value: SpecNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of fields, got \(kindName)") }
        var seen = Set<String>()
        var result: [(key: String, value: SpecNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw SpecNode(node: keyNode, file: file, path: path).error("field names must be plain text")
            }
            let key = scalar.string
            let value = child(valueNode, key)
            if let allowed, !allowed.contains(key) {
                let keyError = SpecNode(node: keyNode, file: file, path: value.path)
                throw keyError.error("unknown field; expected one of: \(allowed.joined(separator: ", "))")
            }
            if !seen.insert(key).inserted {
                throw SpecNode(node: keyNode, file: file, path: value.path).error("field given twice")
            }
            result.append((key, value))
        }
        return result
    }

    /// The fields of a mapping by name (see `mapping(allowed:)`).
    public func fields(allowed: [String]) throws -> SpecFields {
        SpecFields(owner: self, entries: try mapping(allowed: allowed))
    }

    public func array() throws -> [SpecNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, got \(kindName)") }
        return sequence.enumerated().map { SpecNode(node: $0.element, file: file, path: "\(path)[\($0.offset)]", allowsJavaScript: allowsJavaScript) }
    }

    private var scalar: Node.Scalar? {
        if case .scalar(let scalar) = node { return scalar }
        return nil
    }

    public func string() throws -> String {
        guard let scalar, scalar.style != .plain || (Int(scalar.string) == nil && Bool.construct(from: scalar) == nil)
        else { throw error("expected text, got \(kindName)") }
        guard !scalar.string.isEmpty else { throw error("must not be empty") }
        return scalar.string
    }

    public func int() throws -> Int {
        guard let scalar, scalar.style == .plain, let value = Int(scalar.string) else {
            throw error("expected a whole number, got \(kindName)")
        }
        return value
    }

    public func double() throws -> Double {
        guard let scalar, scalar.style == .plain, let value = Double.construct(from: scalar) else {
            throw error("expected a number, got \(kindName)")
        }
        return value
    }

    public func bool() throws -> Bool {
        guard let scalar, scalar.style == .plain, let value = Bool.construct(from: scalar) else {
            throw error("expected true or false, got \(kindName)")
        }
        return value
    }

    public func stringArray() throws -> [String] {
        let items = try array()
        guard !items.isEmpty else { throw error("the list must not be empty") }
        return try items.map { try $0.string() }
    }

    /// Converts the node to a BSON value (for filters, collations and other server-side documents).
    public func bsonValue() throws -> BSONValue {
        switch node {
        case .mapping:
            return .document(Document(try mapping().map { ($0.key, try $0.value.bsonValue()) }))
        case .sequence:
            return .array(try array().map { try $0.bsonValue() })
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            if ["null", "Null", "NULL", "~", ""].contains(scalar.string) { return .null }
            if let value = Bool.construct(from: scalar) { return .bool(value) }
            if let value = Int(scalar.string) { return Int32(exactly: value).map(BSONValue.int32) ?? .int64(Int64(value)) }
            if let value = Double.construct(from: scalar) { return .double(value) }
            return .string(scalar.string)
        case .alias:
            throw error("YAML aliases are not supported in a spec")
        }
    }

    public func document() throws -> Document {
        guard case .document(let document) = try bsonValue() else { throw error("expected a mapping, got \(kindName)") }
        try refuseJavaScript(in: .document(document))
        return document
    }

    /// Server-side JavaScript runs arbitrary code on the audited server, so a spec may hold it only when it
    /// says so at the top (`allow_javascript: true`).
    private func refuseJavaScript(in value: BSONValue) throws {
        guard !allowsJavaScript else { return }
        switch value {
        case .document(let document):
            for (key, child) in document.elements {
                if ["$where", "$function", "$accumulator"].contains(key) {
                    throw error("\(key) runs JavaScript on the server; refused unless the spec sets allow_javascript: true")
                }
                try refuseJavaScript(in: child)
            }
        case .array(let items): try items.forEach(refuseJavaScript)
        case .javascript, .javascriptWithScope:
            throw error("a JavaScript value runs on the server; refused unless the spec sets allow_javascript: true")
        default: break
        }
    }

    public var kindName: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar): return scalar.string.isEmpty ? "an empty value" : "\"\(scalar.string)\""
        case .alias: return "an alias"
        }
    }
}

/// The named fields of one mapping, read with their types; a missing required field is an error at the mapping.
public struct SpecFields {
    public let owner: SpecNode
    let entries: [(key: String, value: SpecNode)]

    public subscript(_ key: String) -> SpecNode? { entries.first { $0.key == key }?.value }

    public func required(_ key: String) throws -> SpecNode {
        guard let node = self[key] else { throw owner.error("missing required field '\(key)'") }
        return node
    }
}

extension SpecNode {
    /// Checks that a text is a dotted field path (`channels.min`): no empty parts, no leading `$`.
    public func validateFieldPath(_ path: String) throws {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("$"), parts.allSatisfy({ !$0.isEmpty }) else {
            throw error("'\(path)' is not a field path (dotted names, no empty parts, no leading $)")
        }
    }

    /// The field names an index entry may have in a spec or migration file.
    public static let indexFields = ["keys", "name"] + IndexSpec.options.map(\.specName)
    static let keyKinds: Set<String> = ["1", "-1", "text", "hashed", "2d", "2dsphere"]

    /// Reads an index as specs and migrations write it: `{keys: {field: 1, other: -1}, name}` plus the
    /// options of `IndexSpec.options` by their spec names (unique, sparse, partial_filter, ...).
    public func indexSpec() throws -> IndexSpec {
        let fields = try self.fields(allowed: Self.indexFields)
        let keysNode = try fields.required("keys")
        let keys = try keysNode.mapping().map { entry -> IndexKey in
            try entry.value.validateFieldPath(entry.key)
            let kind: String
            if let direction = try? entry.value.int() {
                kind = String(direction)
            } else {
                kind = try entry.value.string()
            }
            guard Self.keyKinds.contains(kind) else {
                throw entry.value.error("expected 1, -1, text, hashed, 2d or 2dsphere, got \(entry.value.kindName)")
            }
            return IndexKey(field: entry.key, kind: kind)
        }
        guard !keys.isEmpty else { throw keysNode.error("an index needs at least one key") }
        var spec = IndexSpec(keys: keys, name: try fields["name"]?.string())
        for option in IndexSpec.options {
            guard let node = fields[option.specName] else { continue }
            option.set(try node.indexOptionValue(option.value), in: &spec)
        }
        return spec
    }

    private func indexOptionValue(_ kind: IndexOption.Value) throws -> BSONValue {
        switch kind {
        case .flag: return .bool(try bool())
        case .seconds:
            let seconds = try int()
            guard seconds >= 0 else { throw error("must be zero or more seconds") }
            return .int64(Int64(seconds))
        case .document, .collation: return .document(try document())
        }
    }
}

extension SpecNode {
    /// A share between 0 and 1 (thresholds such as `min_complete: 0.99`).
    public func share() throws -> Double {
        let value = try double()
        guard (0...1).contains(value) else { throw error("must be between 0 and 1, got \(value)") }
        return value
    }
}

extension SpecNode {
    /// Reads a mapping as an Extended JSON document, so filters can hold typed values such as
    /// `{$date: "2024-01-01T00:00:00Z"}`, `{$oid: "..."}` or `{$numberLong: "5"}`.
    public func extendedJSONDocument() throws -> Document {
        guard case .mapping = node else { throw error("expected a mapping, got \(kindName)") }
        let document: Document
        do {
            document = try Document(json: try jsonText())
        } catch let mongoError as MongoError {
            throw error("not a valid Extended JSON document: \(mongoError)")
        }
        try refuseJavaScript(in: .document(document))
        return document
    }

    private func jsonText() throws -> String {
        switch node {
        case .mapping:
            return "{" + (try mapping().map { "\(Self.quoted($0.key)): \(try $0.value.jsonText())" }.joined(separator: ", ")) + "}"
        case .sequence:
            return "[" + (try array().map { try $0.jsonText() }.joined(separator: ", ")) + "]"
        case .scalar(let scalar):
            switch try bsonValue() {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .int32, .int64: return scalar.string
            case .double(let d): return d.isFinite ? String(d) : Self.quoted(scalar.string)
            default: return Self.quoted(scalar.string)
            }
        case .alias:
            throw error("YAML aliases are not supported")
        }
    }

    private static func quoted(_ text: String) -> String { JSONValue.string(text).text(pretty: false) }
}
