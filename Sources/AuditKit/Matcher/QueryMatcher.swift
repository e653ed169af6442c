import Foundation
import MongoKit
import ScanKernel

/// A verdict that may wait for the server: regular expressions are evaluated by the server (see
/// `RegexVerdicts`), so a filter's verdict on a document is unknown until the verdicts on its strings
/// are in. Three-valued logic keeps every verdict that does not depend on them.
enum Truth: UInt8 {
    case no = 0
    case unknown = 1
    case yes = 2

    init(_ flag: Bool) { self = flag ? .yes : .no }

    var negated: Truth { Truth(rawValue: 2 - rawValue)! }
    static func && (a: Truth, b: Truth) -> Truth { a.rawValue <= b.rawValue ? a : b }
    static func || (a: Truth, b: Truth) -> Truth { a.rawValue >= b.rawValue ? a : b }
}

/// Evaluates filters (`FilterNode`) on documents as the server's classic matcher does, straight from the
/// BSON bytes: the values a path reaches follow `BSONElementIterator` (through embedded documents and
/// arrays, numeric names as positions, a missing value where an embedded document lacks the field,
/// arrays at the end of a path yielding their elements and then themselves), each operator follows its
/// `matchesSingleElement`, and `$expr` follows aggregation's field paths and `Value::compare`.
final class QueryMatcher {
    /// The current document's top-level values, by `QueryPath.top` (nil: missing).
    var topLevel: [RawBSONValue?]
    /// The time `$$NOW` stands for, in milliseconds since the epoch.
    let nowMilliseconds: Int64
    let verdicts: RegexVerdicts

    init(topLevelNames: Int, now: Date, verdicts: RegexVerdicts) {
        topLevel = Array(repeating: nil, count: topLevelNames)
        nowMilliseconds = clampedMilliseconds(now)
        self.verdicts = verdicts
    }

    /// Whether the document whose top-level values are in `topLevel` matches `filter`.
    func matches(_ filter: FilterNode) -> Truth { evaluate(filter, in: nil) }

    /// `root` nil is the top-level document; otherwise an embedded document or array (by `$elemMatch`).
    private func evaluate(_ node: FilterNode, in root: RawBSONValue?) -> Truth {
        switch node {
        case .all(let nodes):
            var result = Truth.yes
            for node in nodes {
                result = result && evaluate(node, in: root)
                if result == .no { return .no }
            }
            return result
        case .any(let nodes):
            var result = Truth.no
            for node in nodes {
                result = result || evaluate(node, in: root)
                if result == .yes { return .yes }
            }
            return result
        case .none(let nodes):
            var result = Truth.no
            for node in nodes {
                result = result || evaluate(node, in: root)
                if result == .yes { return .no }
            }
            return result.negated
        case .not(let node):
            return evaluate(node, in: root).negated
        case .never:
            return .no
        case .path(let path, let test, let arrays):
            return anyValue(path, in: root, arrays: arrays) { self.passes($0, test) }
        case .expression(let expression):
            return Truth(evaluate(expression))
        }
    }

    // MARK: Paths

    /// The field `name` (the path's `index`th) of `root`.
    @inline(__always)
    private func field(_ path: QueryPath, _ index: Int, in root: RawBSONValue?) -> RawBSONValue? {
        guard let root else { return topLevel[path.top] }
        return BSONCursor.field(path.names[index], in: root.bytes)
    }

    /// `getFieldDottedOrArray`: down the path from name `start` through embedded documents, stopping at
    /// the first array (with the index of its name); nil when the path is missing or meets a scalar.
    private func fieldOrArray(_ path: QueryPath, from start: Int, in root: RawBSONValue?) -> (RawBSONValue?, Int) {
        var container = root
        var index = start
        while index < path.names.count {
            guard let value = field(path, index, in: container) else { return (nil, index) }
            switch value.type {
            case 0x03:
                container = value
                index += 1
                if index == path.names.count { return (value, index) }
            case 0x04:
                return (value, index)
            default:
                return (index + 1 < path.names.count ? nil : value, index)
            }
        }
        return (container, index)
    }

    /// Whether some value `path` reaches from name `start` of `root` passes `test`.
    private func anyValue(
        _ path: QueryPath, from start: Int = 0, in root: RawBSONValue?, arrays: LeafArrays, _ test: (RawBSONValue?) -> Truth
    ) -> Truth {
        let (value, index) = fieldOrArray(path, from: start, in: root)
        guard let value, value.type == 0x04 else { return test(value) }
        return anyValue(path, inArray: value, rest: index + 1, arrays: arrays, test)
    }

    /// The values the rest of the path (from name `rest`) reaches in `array`, as `BSONElementIterator`'s
    /// array state: elements at the end of the path (then the array itself); else embedded documents
    /// searched for the rest, and an element whose position the next name gives.
    private func anyValue(
        _ path: QueryPath, inArray array: RawBSONValue, rest: Int, arrays: LeafArrays, _ test: (RawBSONValue?) -> Truth
    ) -> Truth {
        let hasMore = rest < path.names.count
        if !hasMore && arrays == .whole { return test(array) }
        var result = Truth.no
        var cursor = BSONCursor(array.bytes)
        while result != .yes, let (name, element) = cursor.next() {
            guard hasMore else {
                result = result || test(element)
                continue
            }
            let isPosition = path.isDigits[rest] && RawBSONValue.compareBytes(name, path.names[rest]) == 0
            if element.type == 0x03 {
                result = result || anyValue(path, from: rest, in: element, arrays: arrays, test)
                if isPosition && result != .yes {
                    result = result || (rest + 1 == path.names.count ? test(element) : anyValue(path, from: rest + 1, in: element, arrays: arrays, test))
                }
            } else if isPosition {
                if rest + 1 == path.names.count {
                    result = result || test(element)
                } else if element.type == 0x04 {
                    result = result || anyValue(path, inArray: element, rest: rest + 1, arrays: arrays, test)
                }
            }
        }
        if hasMore || result == .yes { return result }
        return result || test(array)
    }

    // MARK: Tests of one value

    private func passes(_ value: RawBSONValue?, _ test: ValueTest) -> Truth {
        switch test {
        case .compare(let comparison, let constant):
            return Truth(Self.compare(value, comparison, constant.raw))
        case .oneOf(let constants, let regexes, let hasNull):
            if hasNull && (value == nil || value?.type == 0x06) { return .yes }
            guard let value else { return .no }
            for constant in constants where canonicalRank(value.type) == canonicalRank(constant.raw.type) && value.compare(constant.raw) == 0 {
                return .yes
            }
            var result = Truth.no
            for regex in regexes {
                result = result || matches(value, regex)
                if result == .yes { return .yes }
            }
            return result
        case .exists:
            return Truth(value != nil)
        case .type(let types):
            guard let value else { return .no }
            return Truth(types.contains(value.type))
        case .regex(let regex):
            guard let value else { return .no }
            return matches(value, regex)
        case .size(let size):
            guard let value, value.type == 0x04 else { return .no }
            var cursor = BSONCursor(value.bytes)
            var count = 0
            while cursor.next() != nil { count += 1 }
            return Truth(count == size)
        case .elementMatches(let filter):
            guard let value, value.type == 0x04 else { return .no }
            var result = Truth.no
            var cursor = BSONCursor(value.bytes)
            while result != .yes, let (_, element) = cursor.next() {
                guard element.type == 0x03 || element.type == 0x04 else { continue }
                result = result || evaluate(filter, in: element)
            }
            return result
        case .elementPasses(let tests):
            guard let value, value.type == 0x04 else { return .no }
            var result = Truth.no
            var cursor = BSONCursor(value.bytes)
            while result != .yes, let (_, element) = cursor.next() {
                var all = Truth.yes
                for test in tests where all != .no { all = all && passes(element, test) }
                result = result || all
            }
            return result
        case .not(let test):
            return passes(value, test).negated
        case .all(let tests):
            var result = Truth.yes
            for test in tests where result != .no { result = result && passes(value, test) }
            return result
        }
    }

    /// `ComparisonMatchExpression::matchesSingleElement`: values of different canonical types never
    /// compare (but null, undefined and missing are alike, and MinKey/MaxKey bound everything); NaN only
    /// equals NaN.
    static func compare(_ value: RawBSONValue?, _ comparison: Comparison, _ constant: RawBSONValue) -> Bool {
        let valueRank = canonicalRank(value?.type)
        let constantRank = canonicalRank(constant.type)
        if value?.type != constant.type && valueRank != constantRank {
            if valueRank + constantRank == 5 {
                return comparison == .equal || comparison == .lessOrEqual || comparison == .greaterOrEqual
            }
            if constant.type == 0x7F || constant.type == 0xFF {
                switch comparison {
                case .less, .lessOrEqual: return constant.type == 0x7F
                case .equal: return false
                case .greater, .greaterOrEqual: return constant.type == 0xFF
                }
            }
            return false
        }
        guard let value else { return false }
        if comparison != .equal {
            let valueIsNaN = value.number == .nan
            let constantIsNaN = constant.number == .nan
            if valueIsNaN || constantIsNaN {
                switch comparison {
                case .less, .greater: return false
                default: return valueIsNaN && constantIsNaN
                }
            }
        }
        let order = value.compare(constant)
        switch comparison {
        case .equal: return order == 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }

    /// `RegexMatchExpression::matchesSingleElement`: strings and symbols by the server's verdict; a
    /// regular expression value when it is the same expression.
    private func matches(_ value: RawBSONValue, _ regex: RegexPattern) -> Truth {
        switch value.type {
        case 0x02, 0x0E:
            guard let text = value.text else { return .no }
            return verdicts.verdict(regex, text)
        case 0x0B:
            return Truth(value.bytes.elementsEqual(regex.valueBytes))
        default:
            return .no
        }
    }

    // MARK: $expr

    /// A value of an aggregation expression: missing, a value in a document or the filter, or an array
    /// built from a path through arrays.
    indirect enum ExpressionValue {
        case missing
        case value(RawBSONValue)
        case list([ExpressionValue])
        case date(Int64)
        case bool(Bool)
    }

    private func evaluate(_ expression: ExpressionNode) -> Bool {
        switch expression {
        case .compare(let comparison, let left, let right):
            let order = Self.compare(value(left), value(right))
            switch comparison {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            case .greaterOrEqual: return order >= 0
            }
        case .all(let items): return items.allSatisfy(evaluate)
        case .any(let items): return items.contains(where: evaluate)
        case .not(let item): return !evaluate(item)
        }
    }

    private func value(_ operand: ExpressionOperand) -> ExpressionValue {
        switch operand {
        case .constant(let constant): return .value(constant.raw)
        case .now: return .date(nowMilliseconds)
        case .expression(let expression): return .bool(evaluate(expression))
        case .path(let path): return value(path, 0, in: nil)
        }
    }

    /// `ExpressionFieldPath::evaluatePath`: names are field names only (no positions); through an array
    /// the result is the array of what each embedded document holds (other elements are skipped).
    private func value(_ path: QueryPath, _ index: Int, in root: RawBSONValue?) -> ExpressionValue {
        guard let value = field(path, index, in: root) else { return .missing }
        if index == path.names.count - 1 { return .value(value) }
        switch value.type {
        case 0x03: return self.value(path, index + 1, in: value)
        case 0x04:
            var items: [ExpressionValue] = []
            var cursor = BSONCursor(value.bytes)
            while let (_, element) = cursor.next() {
                guard element.type == 0x03 else { continue }
                let nested = self.value(path, index + 1, in: element)
                if case .missing = nested { continue }
                items.append(nested)
            }
            return .list(items)
        default: return .missing
        }
    }

    private static func rank(_ value: ExpressionValue) -> Int {
        switch value {
        case .missing: return 0
        case .value(let raw): return canonicalRank(raw.type)
        case .list: return 25
        case .date: return canonicalRank(0x09)
        case .bool: return canonicalRank(0x08)
        }
    }

    /// `Value::compare`: by canonical rank (missing with undefined, below null), then within the type;
    /// arrays element by element, no type bracketing.
    static func compare(_ left: ExpressionValue, _ right: ExpressionValue) -> Int {
        let leftRank = rank(left)
        let rightRank = rank(right)
        if leftRank != rightRank { return leftRank < rightRank ? -1 : 1 }
        switch (left, right) {
        case (.value(let l), .value(let r)): return l.compare(r)
        case (.date(let l), .date(let r)): return l < r ? -1 : (l > r ? 1 : 0)
        case (.bool(let l), .bool(let r)): return l == r ? 0 : (l ? 1 : -1)
        default: break
        }
        if leftRank == 25 {
            let l = elements(left)
            let r = elements(right)
            for (a, b) in zip(l, r) {
                let order = compare(a, b)
                if order != 0 { return order }
            }
            return l.count == r.count ? 0 : (l.count < r.count ? -1 : 1)
        }
        if case .date(let l) = left, let r = scalar(right)?.dateMilliseconds { return l < r ? -1 : (l > r ? 1 : 0) }
        if case .date(let r) = right, let l = scalar(left)?.dateMilliseconds { return l < r ? -1 : (l > r ? 1 : 0) }
        if case .bool(let l) = left, let r = scalar(right) { return compare(.bool(l), .bool(r.bytes.first ?? 0 != 0)) }
        if case .bool(let r) = right, let l = scalar(left) { return compare(.bool(l.bytes.first ?? 0 != 0), .bool(r)) }
        return 0  // missing, undefined, null, MinKey, MaxKey: one value each
    }

    private static func scalar(_ value: ExpressionValue) -> RawBSONValue? {
        if case .value(let raw) = value { return raw }
        return nil
    }

    private static func elements(_ value: ExpressionValue) -> [ExpressionValue] {
        switch value {
        case .list(let items): return items
        case .value(let raw):
            var items: [ExpressionValue] = []
            var cursor = BSONCursor(raw.bytes)
            while let (_, element) = cursor.next() { items.append(.value(element)) }
            return items
        default: return []
        }
    }
}
