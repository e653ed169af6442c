import Foundation
import MongoKit

/// Random query filters over the documents of `RandomDocuments`, for differential tests of the query
/// matcher: every operator it supports, nested `$and`/`$or`/`$nor`/`$not`/`$elemMatch`, `$expr`
/// comparisons, on paths that exist (through documents, arrays, positions) and paths that do not. Values
/// come from the same pools as the documents', so that comparisons hit.
public struct RandomFilters {
    public var values: RandomDocuments

    public init(seed: UInt64) { values = RandomDocuments(seed: seed) }

    static let paths = ["v", "a", "a.b", "a.c", "a.0", "a.1", "a.b.c", "a.b.0", "a.0.b", "a.1.b", "a.0.0", "a.b.c.0", "v.b", "v.0", "x", "a.x", "a.b.x"]
    /// Paths inside an `$elemMatch` (relative to the array's elements).
    static let elementPaths = ["b", "c", "0", "1", "b.c", "b.0", "0.b", "x"]
    static let patterns = ["a", "^a", "b$", "^$", "A", "a|x", ".", "^(a|b)+$", "^.b", "a.?b", "\\w", "^\\S+$"]
    static let optionSets = ["", "i", "m", "s", "x", "im"]
    static let typeNames: [BSONValue] = [
        "double", "string", "object", "array", "binData", "objectId", "bool", "date", "null", "regex", "int", "long", "decimal",
        "number", "timestamp", "minKey", "maxKey", "symbol", "undefined", "dbPointer", "javascript", .int32(1), .int32(2), .int32(4),
        .int32(10), .int32(16), .int32(18), .int32(19), .int32(-1), .int32(127), .double(3),
    ]

    /// A value to compare with: a scalar of the documents' pools (not undefined, not JavaScript), a
    /// short array or a small document.
    public mutating func constant(depth: Int = 1) -> BSONValue {
        switch values.random.next() % 12 {
        case 0 where depth > 0:
            return .array((0..<Int(values.random.next() % 3)).map { _ in constant(depth: depth - 1) })
        case 1 where depth > 0:
            var document = Document()
            for name in ["b", "c"] where values.chance(50) { document.append(name, constant(depth: depth - 1)) }
            return .document(document)
        default:
            while true {
                let value = values.scalar()
                switch value {
                case .undefined, .javascript, .javascriptWithScope: continue
                default: return value
                }
            }
        }
    }

    mutating func regex() -> BSONValue {
        .regex(pattern: values.pick(Self.patterns), options: values.pick(Self.optionSets))
    }

    /// A filter on the whole document (`elements`: on array elements, inside `$elemMatch`).
    public mutating func filter(depth: Int = 3, elements: Bool = false) -> Document {
        var document = Document()
        let clauses = 1 + Int(values.random.next() % (depth > 1 ? 2 : 1))
        var used = Set<String>()
        for _ in 0..<clauses {
            let roll = values.random.next() % 20
            if depth > 1 && roll < 3 {
                let key = values.pick(["$and", "$or", "$nor"])
                guard used.insert(key).inserted else { continue }
                document.append(key, .array((0..<(1 + Int(values.random.next() % 2))).map { _ in .document(filter(depth: depth - 1, elements: elements)) }))
            } else if !elements && roll < 5 {
                guard used.insert("$expr").inserted else { continue }
                document.append("$expr", expression(depth: 2))
            } else {
                let path = values.pick(elements ? Self.elementPaths : Self.paths)
                guard used.insert(path).inserted else { continue }
                document.append(path, condition(depth: depth))
            }
        }
        return document
    }

    /// What a path must satisfy: a value, a regular expression, or operators.
    mutating func condition(depth: Int) -> BSONValue {
        switch values.random.next() % 10 {
        case 0, 1: return constant()
        case 2: return regex()
        default: return .document(operators(depth: depth, count: 1 + Int(values.random.next() % 2)))
        }
    }

    mutating func operators(depth: Int, count: Int) -> Document {
        var document = Document()
        var used = Set<String>()
        for _ in 0..<count {
            let (key, value) = oneOperator(depth: depth)
            guard used.insert(key).inserted else { continue }
            if key == "$regex" {
                // Alone, as $regex with $options is usually written.
                return ["$regex": value, "$options": .string(values.pick(Self.optionSets))]
            }
            document.append(key, value)
        }
        return document
    }

    mutating func oneOperator(depth: Int) -> (String, BSONValue) {
        switch values.random.next() % 17 {
        case 0, 1: return ("$eq", constant())
        case 2: return ("$ne", constant())
        case 3: return (values.pick(["$gt", "$gte"]), constant())
        case 4: return (values.pick(["$lt", "$lte"]), constant())
        case 5, 6:
            let items: [BSONValue] = (0..<(1 + Int(values.random.next() % 3))).map { _ in
                values.chance(15) ? regex() : values.chance(15) ? .null : constant()
            }
            return (values.pick(["$in", "$nin"]), .array(items))
        case 7: return ("$exists", .bool(values.chance(50)))
        case 8:
            return ("$type", values.chance(70) ? values.pick(Self.typeNames) : .array([values.pick(Self.typeNames), values.pick(Self.typeNames)]))
        case 9: return ("$regex", .string(values.pick(Self.patterns)))
        case 10: return ("$size", .int32(Int32(values.random.next() % 4)))
        case 11:
            if values.chance(30) && depth > 1 {
                return (
                    "$all", .array((0..<(1 + Int(values.random.next() % 2))).map { _ in ["$elemMatch": .document(filter(depth: depth - 1, elements: true))] })
                )
            }
            return ("$all", .array((0..<Int(values.random.next() % 3)).map { _ in values.chance(20) ? regex() : constant() }))
        case 12,
            13 where depth > 1:
            if values.chance(50) { return ("$elemMatch", .document(filter(depth: depth - 1, elements: true))) }
            return ("$elemMatch", .document(operators(depth: depth - 1, count: 1 + Int(values.random.next() % 2))))
        case 14 where depth > 1:
            return ("$not", values.chance(30) ? regex() : .document(operators(depth: depth - 1, count: 1)))
        default: return ("$eq", constant())
        }
    }

    /// An aggregation expression for `$expr`.
    mutating func expression(depth: Int) -> BSONValue {
        if depth > 1 && values.chance(25) {
            let key = values.pick(["$and", "$or", "$not"])
            let count = key == "$not" ? 1 : 1 + Int(values.random.next() % 2)
            return [key: .array((0..<count).map { _ in expression(depth: depth - 1) })]
        }
        let key = values.pick(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])
        return [key: [operand(), operand()]]
    }

    mutating func operand() -> BSONValue {
        switch values.random.next() % 8 {
        case 0..<4: return .string("$" + values.pick(Self.paths))
        case 4: return "$$NOW"
        case 5: return ["$literal": constant()]
        default:
            let value = constant(depth: 0)
            if case .string(let text) = value, text.hasPrefix("$") { return ["$literal": value] }
            return value
        }
    }
}
