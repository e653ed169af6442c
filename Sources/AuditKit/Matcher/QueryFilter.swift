import Foundation
import MongoKit
import ScanKernel
import SpecSupport

// A MongoDB query filter read from a spec and compiled for `QueryMatcher`. Only what the matcher
// evaluates exactly as the server does is accepted; every other operator is refused here, with the
// spec's file, line and field, so that nothing is ever evaluated wrongly.

/// A filter, as the server's match expression tree has it.
indirect enum FilterNode: @unchecked Sendable {
    /// `$and`, and the implicit and of a filter's fields and of a field's operators.
    case all([FilterNode])
    case any([FilterNode])
    case none([FilterNode])
    case not(FilterNode)
    /// Some value the path reaches passes the test (missing counts as a value: nil).
    case path(QueryPath, ValueTest, LeafArrays)
    /// Matches nothing (`$all: []`).
    case never
    case expression(ExpressionNode)
}

/// How a path treats an array at its end: its elements and then the array itself (`kTraverse`), or the
/// array alone (`kNoTraversal`, for `$size` and `$elemMatch`).
enum LeafArrays: Sendable {
    case traverse
    case whole
}

enum Comparison: Sendable {
    case equal, less, lessOrEqual, greater, greaterOrEqual
}

/// A test of one value, as `matchesSingleElement`.
indirect enum ValueTest: @unchecked Sendable {
    case compare(Comparison, Constant)
    case oneOf([Constant], regexes: [RegexPattern], hasNull: Bool)
    case exists
    case type(Set<UInt8>)
    case regex(RegexPattern)
    case size(Int)
    /// `$elemMatch` with a filter: some element that is a document or an array matches it.
    case elementMatches(FilterNode)
    /// `$elemMatch` with operators: some element passes every test.
    case elementPasses([ValueTest])
    case not(ValueTest)
    case all([ValueTest])
}

/// An aggregation expression of `$expr`: comparisons of field paths and constants, and/or/not.
indirect enum ExpressionNode: @unchecked Sendable {
    case compare(ExpressionComparison, ExpressionOperand, ExpressionOperand)
    case all([ExpressionNode])
    case any([ExpressionNode])
    case not(ExpressionNode)
}

enum ExpressionComparison: Sendable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

indirect enum ExpressionOperand: @unchecked Sendable {
    case path(QueryPath)
    case constant(Constant)
    case now
    case expression(ExpressionNode)
}

/// A dotted path, its names kept as bytes for comparisons in place.
final class QueryPath: @unchecked Sendable {
    let text: String
    let names: [UnsafeRawBufferPointer]
    /// Per name, whether it is all digits (it may then name an array position).
    let isDigits: [Bool]
    /// The id of the top-level name among the filter set's (`FilterParser.topLevelNames`).
    let top: Int

    init(_ text: String, top: Int) {
        self.text = text
        self.top = top
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        names = parts.map { part in
            let bytes = Array(part.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count])
        }
        isDigits = parts.map { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    deinit { for name in names { UnsafeMutableRawBufferPointer(mutating: name).deallocate() } }
}

/// A value of the filter, kept as BSON bytes so documents' values are compared with it where they lie.
final class Constant: @unchecked Sendable {
    let raw: RawBSONValue
    private let storage: UnsafeMutableRawBufferPointer

    init(_ value: BSONValue) {
        let bytes = (["v": value] as Document).bytes
        storage = .allocate(byteCount: bytes.count, alignment: 8)
        storage.copyBytes(from: bytes)
        var cursor = BSONCursor(UnsafeRawBufferPointer(storage))
        raw = cursor.next()?.value ?? RawBSONValue(type: 0x0A, bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<0]))
    }

    deinit { storage.deallocate() }

    var isNull: Bool { raw.type == 0x0A }
}

/// A regular expression of the filter; the server evaluates it (PCRE, as `$regex`), see `RegexVerdicts`.
final class RegexPattern: @unchecked Sendable {
    let pattern: String
    let options: String

    /// Pattern and options, as the key of the server's verdicts.
    let key: String

    init(pattern: String, options: String) {
        self.pattern = pattern
        self.options = options
        key = options + "/" + pattern
    }

    /// The bytes of a BSON regular expression value equal to this one (pattern and options as written:
    /// the server compares them so).
    var valueBytes: [UInt8] { Array(pattern.utf8) + [0] + Array(options.utf8) + [0] }
}

/// Reads filters from a spec. One parser serves every filter of a check, so that their paths share the
/// top-level names a single pass reads.
final class FilterParser {
    /// The top-level field names the filters read, in order of first use.
    private(set) var topLevelNames: [String] = []

    /// Deeper than this many nested operators and documents, a filter is refused.
    static let maximumDepth = 20
    /// More than this many operators and values in one filter is refused.
    static let maximumSize = 10_000
    /// The most names in a path (the server nests documents at most 100 deep).
    static let maximumPathNames = 100

    private var size = 0

    static let unsupportedNote =
        "supported: $eq $ne $gt $gte $lt $lte $in $nin $exists $type $regex $options $size $all "
        + "$elemMatch $not $and $or $nor $expr $comment"

    /// The filter of `node`, a mapping (Extended JSON values such as `{$date: ...}` allowed).
    func parse(_ node: SpecNode) throws -> FilterNode {
        size = 0
        let document = try Self.document(node)
        return try filter(node, document, depth: 0, allowExpression: true)
    }

    /// The filter of `node` as BSON: Extended JSON wrappers (`{$date: ...}`, `{$numberDecimal: ...}`) become
    /// typed values, everything else is read as is (`$type` is an operator here, not legacy `$binary`'s).
    static func document(_ node: SpecNode) throws -> Document {
        try refuseJavaScript(node)
        guard case .document(let document) = try value(node, depth: 0) else { throw node.error("expected a mapping, got \(node.kindName)") }
        return document
    }

    static let wrapperKeys: Set<String> = [
        "$oid", "$symbol", "$numberInt", "$numberLong", "$numberDouble", "$numberDecimal", "$binary", "$timestamp",
        "$regularExpression", "$dbPointer", "$date", "$minKey", "$maxKey", "$undefined",
    ]

    private static func value(_ node: SpecNode, depth: Int) throws -> BSONValue {
        guard depth < SpecNode.maxDepth else { throw node.error("nested deeper than \(SpecNode.maxDepth) levels") }
        switch node.node {
        case .mapping:
            let fields = try node.mapping()
            if let first = fields.first?.key, wrapperKeys.contains(first) {
                do {
                    let document = try Document(json: "{\"v\": \(try json(node, depth: depth))}")
                    guard let value = document["v"] else { throw node.error("not a valid Extended JSON value") }
                    return value
                } catch let error as MongoError {
                    throw node.error("not a valid Extended JSON value: \(error)")
                }
            }
            return .document(Document(try fields.map { ($0.key, try value($0.value, depth: depth + 1)) }))
        case .sequence:
            return .array(try node.array().map { try value($0, depth: depth + 1) })
        default:
            return try node.bsonValue()
        }
    }

    /// JSON text of a node, for libbson's Extended JSON reader.
    private static func json(_ node: SpecNode, depth: Int) throws -> String {
        guard depth < SpecNode.maxDepth else { throw node.error("nested deeper than \(SpecNode.maxDepth) levels") }
        switch node.node {
        case .mapping:
            return "{"
                + (try node.mapping().map { "\(JSONValue.string($0.key).text(pretty: false)): \(try json($0.value, depth: depth + 1))" }
                    .joined(separator: ", ")) + "}"
        case .sequence:
            return "[" + (try node.array().map { try json($0, depth: depth + 1) }.joined(separator: ", ")) + "]"
        default:
            switch try node.bsonValue() {
            case .null: return "null"
            case .bool(let flag): return flag ? "true" : "false"
            case .int32(let number): return String(number)
            case .int64(let number): return String(number)
            case .double(let number) where number.isFinite: return String(number)
            case .string(let text): return JSONValue.string(text).text(pretty: false)
            default: throw node.error("not a valid Extended JSON value")
            }
        }
    }

    /// Server-side JavaScript is refused where it is written (before the values are read, which would
    /// refuse it at the whole filter).
    private static func refuseJavaScript(_ node: SpecNode, depth: Int = 0) throws {
        guard depth < SpecNode.maxDepth else { return }
        switch node.node {
        case .mapping:
            for (key, child) in try node.mapping() {
                if ["$where", "$function", "$accumulator", "$code"].contains(key) {
                    throw child.error("unsupported query operator \(key): it runs JavaScript, which the matcher does not evaluate")
                }
                try refuseJavaScript(child, depth: depth + 1)
            }
        case .sequence:
            for item in try node.array() { try refuseJavaScript(item, depth: depth + 1) }
        default:
            break
        }
    }

    private func count(_ node: SpecNode, _ items: Int = 1) throws {
        size += items
        guard size <= Self.maximumSize else { throw node.error("the filter is larger than \(Self.maximumSize) operators and values") }
    }

    private func deeper(_ node: SpecNode, _ depth: Int) throws -> Int {
        guard depth < Self.maximumDepth else { throw node.error("the filter nests deeper than \(Self.maximumDepth) levels") }
        return depth + 1
    }

    /// The fields of a mapping node with their values read as Extended JSON (same keys, same order).
    private func entries(_ node: SpecNode, _ document: Document) throws -> [(key: String, node: SpecNode, value: BSONValue)] {
        let nodes = try node.mapping()
        let values = document.elements
        guard nodes.count == values.count, zip(nodes, values).allSatisfy({ $0.0.key == $0.1.0 }) else {
            throw node.error("could not read the mapping as Extended JSON")
        }
        return zip(nodes, values).map { ($0.0.key, $0.0.value, $0.1.1) }
    }

    private func filter(_ node: SpecNode, _ document: Document, depth: Int, allowExpression: Bool) throws -> FilterNode {
        let depth = try deeper(node, depth)
        var clauses: [FilterNode] = []
        for (key, child, value) in try entries(node, document) {
            try count(child)
            if key.hasPrefix("$") {
                switch key {
                case "$and", "$or", "$nor":
                    let items = try child.array()
                    guard case .array(let values) = value, values.count == items.count, !items.isEmpty else {
                        throw child.error("\(key) takes a non-empty list of filters")
                    }
                    let filters = try zip(items, values).map { item, itemValue -> FilterNode in
                        guard case .document(let itemDocument) = itemValue else { throw item.error("expected a filter (a mapping)") }
                        return try filter(item, itemDocument, depth: depth, allowExpression: allowExpression)
                    }
                    clauses.append(key == "$and" ? .all(filters) : key == "$or" ? .any(filters) : .none(filters))
                case "$expr":
                    guard allowExpression else { throw child.error("$expr applies to the whole document only, not inside $elemMatch") }
                    clauses.append(.expression(try expression(child, value, depth: depth)))
                case "$comment":
                    continue
                default:
                    throw child.error("unsupported query operator \(key) (\(Self.unsupportedNote))")
                }
                continue
            }
            let path = try fieldPath(key, child)
            clauses.append(try condition(path, child, value, depth: depth))
        }
        return clauses.count == 1 ? clauses[0] : .all(clauses)
    }

    private func fieldPath(_ text: String, _ node: SpecNode) throws -> QueryPath {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !text.isEmpty, parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("$") }), !text.utf8.contains(0) else {
            throw node.error("'\(text)' is not a field path (dotted names, no empty parts, no name starting with $)")
        }
        guard parts.count <= Self.maximumPathNames else { throw node.error("the path has more than \(Self.maximumPathNames) names") }
        let top = String(parts[0])
        if !topLevelNames.contains(top) { topLevelNames.append(top) }
        return QueryPath(text, top: topLevelNames.firstIndex(of: top)!)
    }

    /// Whether a document holds operators (its first field starts with `$`), as the server decides.
    private static func isOperatorDocument(_ value: BSONValue) -> Document? {
        guard case .document(let document) = value, let first = document.keys.first, first.hasPrefix("$") else { return nil }
        return document
    }

    /// The condition on a path: operators, a regular expression, or equality with a value.
    private func condition(_ path: QueryPath, _ node: SpecNode, _ value: BSONValue, depth: Int) throws -> FilterNode {
        if let operators = Self.isOperatorDocument(value) {
            let nodes = try operatorNodes(path, node, operators, depth: depth)
            return nodes.count == 1 ? nodes[0] : .all(nodes)
        }
        if case .regex(let pattern, let options) = value { return .path(path, .regex(try regex(node, pattern, options)), .traverse) }
        return .path(path, .compare(.equal, try literal(node, value)), .traverse)
    }

    /// A value compared with documents' values: no undefined (the server refuses it), no field starting
    /// with `$` inside (ambiguous with operators).
    private func literal(_ node: SpecNode, _ value: BSONValue) throws -> Constant {
        try count(node)
        func check(_ value: BSONValue) throws {
            switch value {
            case .undefined: throw node.error("cannot compare with undefined")
            case .document(let document):
                for (key, child) in document.elements {
                    guard !key.hasPrefix("$") else { throw node.error("a value holding a field named \(key) is ambiguous with an operator; refused") }
                    try check(child)
                }
            case .array(let items): try items.forEach(check)
            default: break
            }
        }
        try check(value)
        return Constant(value)
    }

    private func regex(_ node: SpecNode, _ pattern: String, _ options: String) throws -> RegexPattern {
        guard !pattern.utf8.contains(0) else { throw node.error("a regular expression cannot hold a NUL character") }
        guard options.allSatisfy({ "imsx".contains($0) }) else { throw node.error("regular expression options are i, m, s and x; got \"\(options)\"") }
        return RegexPattern(pattern: pattern, options: options)
    }

    /// One node per operator of a path's operator document (their and).
    private func operatorNodes(_ path: QueryPath, _ node: SpecNode, _ operators: Document, depth: Int) throws -> [FilterNode] {
        let depth = try deeper(node, depth)
        let items = try entries(node, operators)
        var nodes: [FilterNode] = []
        var regexOptions: (node: SpecNode, text: String)?
        for (key, child, value) in items where key == "$options" {
            guard case .string(let text) = value else { throw child.error("$options takes text") }
            regexOptions = (child, text)
        }
        if let regexOptions, !items.contains(where: { $0.key == "$regex" }) {
            throw regexOptions.node.error("$options needs a $regex")
        }
        for (key, child, value) in items where key != "$options" {
            try count(child)
            switch key {
            case "$not":
                if case .regex(let pattern, let options) = value {
                    nodes.append(.not(.path(path, .regex(try regex(child, pattern, options)), .traverse)))
                } else if let inner = Self.isOperatorDocument(value) {
                    let innerNodes = try operatorNodes(path, child, inner, depth: depth)
                    nodes.append(.not(innerNodes.count == 1 ? innerNodes[0] : .all(innerNodes)))
                } else {
                    throw child.error("$not takes a regular expression or a mapping of operators")
                }
            case "$all":
                let tests = try allTests(child, value, depth: depth)
                nodes.append(tests.isEmpty ? .never : .all(tests.map { .path(path, $0, Self.arrays(of: $0)) }))
            default:
                let (test, negated) = try valueTest(key, child, value, depth: depth, regexOptions: regexOptions?.text)
                let node = FilterNode.path(path, test, Self.arrays(of: test))
                nodes.append(negated ? .not(node) : node)
            }
        }
        return nodes
    }

    private static func arrays(of test: ValueTest) -> LeafArrays {
        switch test {
        case .size, .elementMatches, .elementPasses: return .whole
        default: return .traverse
        }
    }

    /// The tests of `$all`: equalities (or regular expressions), or `$elemMatch`es.
    private func allTests(_ node: SpecNode, _ value: BSONValue, depth: Int) throws -> [ValueTest] {
        let items = try node.array()
        guard case .array(let values) = value, values.count == items.count else { throw node.error("$all takes a list") }
        let elementMatches = values.first.flatMap(Self.isOperatorDocument)?.keys.first == "$elemMatch"
        return try zip(items, values).map { item, itemValue -> ValueTest in
            if elementMatches {
                guard let document = Self.isOperatorDocument(itemValue), document.keys == ["$elemMatch"] else {
                    throw item.error("$all with $elemMatch takes only $elemMatch items")
                }
                let fields = try item.mapping()
                return try valueTest("$elemMatch", fields[0].value, document.elements[0].1, depth: depth, regexOptions: nil).test
            }
            if case .regex(let pattern, let options) = itemValue { return .regex(try regex(item, pattern, options)) }
            guard Self.isOperatorDocument(itemValue) == nil else { throw item.error("$all takes values, not operators") }
            return .compare(.equal, try literal(item, itemValue))
        }
    }

    static let comparisons: [String: Comparison] = [
        "$eq": .equal, "$lt": .less, "$lte": .lessOrEqual, "$gt": .greater, "$gte": .greaterOrEqual,
    ]

    /// The test of one operator on one value, and whether the path's match is negated (`$ne`, `$nin`,
    /// `$exists: false`).
    private func valueTest(
        _ key: String, _ node: SpecNode, _ value: BSONValue, depth: Int, regexOptions: String?
    ) throws -> (test: ValueTest, negated: Bool) {
        if let comparison = Self.comparisons[key] {
            if comparison != .equal, case .regex = value { throw node.error("\(key) cannot take a regular expression") }
            return (.compare(comparison, try literal(node, value)), false)
        }
        switch key {
        case "$ne":
            if case .regex = value { throw node.error("$ne cannot take a regular expression") }
            return (.compare(.equal, try literal(node, value)), true)
        case "$in", "$nin":
            let items = try node.array()
            guard case .array(let values) = value, values.count == items.count else { throw node.error("\(key) takes a list") }
            var constants: [Constant] = []
            var regexes: [RegexPattern] = []
            for (item, itemValue) in zip(items, values) {
                if case .regex(let pattern, let options) = itemValue {
                    regexes.append(try regex(item, pattern, options))
                } else {
                    guard Self.isOperatorDocument(itemValue) == nil else { throw item.error("\(key) takes values, not operators") }
                    constants.append(try literal(item, itemValue))
                }
            }
            return (.oneOf(constants, regexes: regexes, hasNull: constants.contains { $0.isNull }), key == "$nin")
        case "$exists":
            switch value {
            case .bool(let flag): return (.exists, !flag)
            case .int32, .int64, .double: return (.exists, value.doubleValue == 0)
            default: throw node.error("$exists takes true or false")
            }
        case "$type":
            var types = Set<UInt8>()
            func add(_ item: BSONValue, _ itemNode: SpecNode) throws {
                switch item {
                case .string("number"): types.formUnion([0x01, 0x10, 0x12, 0x13])
                case .string(let alias):
                    guard let type = BSONType(alias: alias) else { throw itemNode.error("unknown type name \"\(alias)\"") }
                    types.insert(type.rawValue)
                case .int32, .int64, .double:
                    let code = item.doubleValue ?? 0
                    guard code == code.rounded(), code >= -1, code <= 127,
                        let type = BSONType(rawValue: code == -1 ? 0xFF : UInt8(code))
                    else {
                        throw itemNode.error("unknown type number \(code)")
                    }
                    types.insert(type.rawValue)
                default: throw itemNode.error("$type takes a type name or number, or a list of them")
                }
            }
            if case .array(let items) = value {
                let nodes = try node.array()
                guard !items.isEmpty else { throw node.error("$type takes at least one type") }
                for (item, itemNode) in zip(items, nodes) { try add(item, itemNode) }
            } else {
                try add(value, node)
            }
            return (.type(types), false)
        case "$regex":
            switch value {
            case .string(let pattern): return (.regex(try regex(node, pattern, regexOptions ?? "")), false)
            case .regex(let pattern, let options):
                guard regexOptions == nil || options.isEmpty else { throw node.error("options are set both in the regular expression and in $options") }
                return (.regex(try regex(node, pattern, regexOptions ?? options)), false)
            default: throw node.error("$regex takes a pattern (text)")
            }
        case "$size":
            guard let number = value.doubleValue, value.type != .decimal128, number >= 0, number == number.rounded(), number <= Double(Int32.max)
            else { throw node.error("$size takes a whole number of 0 or more") }
            return (.size(Int(number)), false)
        case "$elemMatch":
            // `{$regex: ..., $options: ...}` reads as a regular expression value: the operator form.
            if case .regex(let pattern, let options) = value { return (.elementPasses([.regex(try regex(node, pattern, options))]), false) }
            guard case .document(let document) = value else { throw node.error("$elemMatch takes a mapping") }
            if let first = document.keys.first, first.hasPrefix("$"), !["$and", "$or", "$nor", "$expr", "$where", "$text", "$comment"].contains(first) {
                return (.elementPasses(try elementTests(node, document, depth: depth)), false)
            }
            return (.elementMatches(try filter(node, document, depth: depth, allowExpression: false)), false)
        default:
            throw node.error("unsupported query operator \(key) (\(Self.unsupportedNote))")
        }
    }

    /// The operators of a value `$elemMatch`, each applied to one element.
    private func elementTests(_ node: SpecNode, _ operators: Document, depth: Int) throws -> [ValueTest] {
        let depth = try deeper(node, depth)
        let items = try entries(node, operators)
        let regexOptions = items.first { $0.key == "$options" }.map { item -> String in
            if case .string(let text) = item.value { return text }
            return "\u{0}"
        }
        if regexOptions == "\u{0}" { throw node.error("$options takes text") }
        if regexOptions != nil, !items.contains(where: { $0.key == "$regex" }) { throw node.error("$options needs a $regex") }
        return try items.filter { $0.key != "$options" }.map { key, child, value -> ValueTest in
            try count(child)
            switch key {
            case "$not":
                if case .regex(let pattern, let options) = value { return .not(.regex(try regex(child, pattern, options))) }
                guard let inner = Self.isOperatorDocument(value) else { throw child.error("$not takes a regular expression or a mapping of operators") }
                return .not(.all(try elementTests(child, inner, depth: depth)))
            case "$all":
                let tests = try allTests(child, value, depth: depth)
                return tests.isEmpty ? .oneOf([], regexes: [], hasNull: false) : .all(tests)
            default:
                let (test, negated) = try valueTest(key, child, value, depth: depth, regexOptions: regexOptions)
                return negated ? .not(test) : test
            }
        }
    }

    // MARK: $expr

    static let expressionComparisons: [String: ExpressionComparison] = [
        "$eq": .equal, "$ne": .notEqual, "$lt": .less, "$lte": .lessOrEqual, "$gt": .greater, "$gte": .greaterOrEqual,
    ]

    static let expressionNote = "$expr supports $eq $ne $gt $gte $lt $lte (of \"$field\" paths, \"$$NOW\" and constants), $and, $or, $not"

    private func expression(_ node: SpecNode, _ value: BSONValue, depth: Int) throws -> ExpressionNode {
        let depth = try deeper(node, depth)
        guard case .document(let document) = value, document.count == 1, case .mapping = node.node else {
            throw node.error("expected one expression operator (\(Self.expressionNote))")
        }
        let (key, child, argument) = try entries(node, document)[0]
        try count(child)
        let arguments: [(SpecNode, BSONValue)]
        if case .array(let values) = argument {
            arguments = Array(zip(try child.array(), values))
        } else {
            arguments = [(child, argument)]
        }
        if let comparison = Self.expressionComparisons[key] {
            guard arguments.count == 2, case .array = argument else { throw child.error("\(key) takes a list of two operands") }
            return .compare(comparison, try operand(arguments[0].0, arguments[0].1, depth: depth), try operand(arguments[1].0, arguments[1].1, depth: depth))
        }
        switch key {
        case "$and", "$or":
            guard case .array = argument else { throw child.error("\(key) takes a list of expressions") }
            let items = try arguments.map { try expression($0.0, $0.1, depth: depth) }
            return key == "$and" ? .all(items) : .any(items)
        case "$not":
            guard arguments.count == 1 else { throw child.error("$not takes one expression") }
            return .not(try expression(arguments[0].0, arguments[0].1, depth: depth))
        default:
            throw child.error("unsupported expression operator \(key) (\(Self.expressionNote))")
        }
    }

    private func operand(_ node: SpecNode, _ value: BSONValue, depth: Int) throws -> ExpressionOperand {
        try count(node)
        switch value {
        case .string(let text) where text.hasPrefix("$$"):
            guard text == "$$NOW" else { throw node.error("unsupported variable \(text) (only $$NOW)") }
            return .now
        case .string(let text) where text.hasPrefix("$"):
            let path = String(text.dropFirst())
            return .path(try fieldPath(path, node))
        case .document(let document) where document.keys == ["$literal"]:
            let value = document.elements[0].1
            if case .undefined = value { throw node.error("cannot compare with undefined") }
            return .constant(Constant(value))
        case .document(let document) where document.keys.first?.hasPrefix("$") == true:
            return .expression(try expression(node, value, depth: depth))
        case .undefined:
            throw node.error("cannot compare with undefined")
        default:
            // A document or list is an expression in its own right: only literal ones are accepted.
            func isLiteral(_ value: BSONValue) -> Bool {
                switch value {
                case .string(let text): return !text.hasPrefix("$")
                case .document(let document): return document.elements.allSatisfy { !$0.0.hasPrefix("$") && isLiteral($0.1) }
                case .array(let items): return items.allSatisfy(isLiteral)
                case .undefined: return false
                default: return true
                }
            }
            guard isLiteral(value) else {
                throw node.error("a list or mapping operand must be a constant (no \"$\" paths or operators inside; use $literal)")
            }
            return .constant(Constant(value))
        }
    }
}
