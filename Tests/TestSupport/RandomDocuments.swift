import Foundation
import MongoKit
import SampleData

/// The sample generator's seeded generator: the same seed gives the same documents on every machine.
package typealias SeededRandom = SplitMix64

/// Random documents for differential tests: every BSON type, nesting, arrays of documents and of arrays,
/// empty arrays, numbers at type boundaries (-0, NaN, ±Infinity, int64 beyond 2^53, decimals with large
/// exponents), strings and symbols with the same text, undefined and null. Values come from small pools so
/// that equal values (by MongoDB's rules, across types) repeat across documents.
public struct RandomDocuments {
    package var random: SeededRandom

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    static let oids = (0..<3).map { ObjectID(bytes: Array(repeating: UInt8($0), count: 11) + [UInt8($0)]) }
    static let texts = ["a", "b", "ab", "", "x", "ba"]
    public static let numbers: [BSONValue] = [
        .int32(0), .int32(1), .int32(-1), .int32(5), .int32(7), .int32(Int32.max), .int32(Int32.min),
        .int64(0), .int64(1), .int64(5), .int64(7), .int64(Int64.max), .int64(Int64.min), .int64(9_007_199_254_740_993),
        .int64(9_007_199_254_740_992), .int64(1_500_000_000_000_000_001), .int64(1_500_000_000_000_000_002),
        .int64(Int64(Int32.max) + 1),
        .double(0), .double(-0.0), .double(1), .double(1.5), .double(5), .double(.nan), .double(.infinity), .double(-.infinity),
        .double(9_007_199_254_740_992), .double(1.5e18), .double(9_223_372_036_854_775_808.0), .double(1e308), .double(5e-324),
        .double(0.1), .double(0.5), .double(-7),
        .decimal128("1"), .decimal128("1.0"), .decimal128("1.00"), .decimal128("-0"), .decimal128("0E-6176"), .decimal128("NaN"),
        .decimal128("Infinity"), .decimal128("-Infinity"), .decimal128("1E-999"), .decimal128("1E+6000"), .decimal128("7"),
        .decimal128("9223372036854775807"), .decimal128("9223372036854775808"), .decimal128("9007199254740993"), .decimal128("0.5"),
        .decimal128("0.1"), .decimal128("5.000"), .decimal128("1.5E+18"), .decimal128("-7"), .decimal128("1.0000000000000000000000000000001"),
        .decimal128("4.9E-324"),
    ]

    mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// A scalar of any type.
    public mutating func scalar() -> BSONValue {
        switch random.next() % 20 {
        case 0..<7: return pick(Self.numbers)
        case 7, 8: return .string(pick(Self.texts))
        case 9: return .symbol(pick(Self.texts))
        case 10: return .null
        case 11: return .undefined
        case 12: return .bool(chance(50))
        case 13:
            // Dates at the ends of the int64 range too (they come back clamped to it, never trapping).
            return .datetime(
                pick([
                    Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_600_000_000), Date(timeIntervalSince1970: 1_700_000_000),
                    Date(timeIntervalSince1970: Double(Int64.max) / 1000), Date(timeIntervalSince1970: Double(Int64.min) / 1000),
                ]))
        case 14: return .objectId(pick(Self.oids))
        case 15: return pick([.binary(subtype: 0, data: Data([1, 2])), .binary(subtype: 4, data: Data([1, 2])), .binary(subtype: 0, data: Data())])
        case 16:
            return pick([
                .regex(pattern: "a", options: ""), .regex(pattern: "a", options: "i"), .javascript("a"), .javascriptWithScope(code: "a", scope: ["x": 1]),
            ])
        case 17: return pick([.timestamp(seconds: 1, increment: 1), .timestamp(seconds: 0, increment: 0), .minKey, .maxKey])
        case 18: return .dbPointer(collection: "db.c", id: pick(Self.oids))
        default: return pick(Self.numbers)
        }
    }

    /// A value, nested up to `depth` levels: documents with the names paths use, arrays of scalars, of
    /// documents and of arrays, empty arrays.
    public mutating func value(depth: Int) -> BSONValue {
        guard depth > 0 else { return scalar() }
        switch random.next() % 10 {
        case 0..<4: return scalar()
        case 4, 5: return .document(document(depth: depth - 1))
        case 6: return .array([])
        default:
            let count = Int(random.next() % 4) + 1
            return .array((0..<count).map { _ in value(depth: depth - 1) })
        }
    }

    /// A document with some of the fields `b`, `c`, `0`, `1` (paths go through them).
    public mutating func document(depth: Int) -> Document {
        var document = Document()
        for name in ["b", "c", "0", "1"] where chance(name == "b" ? 70 : 30) { document.append(name, value(depth: depth)) }
        return document
    }

    /// A top-level document with `_id`, and `v` and `a` at random (either may be missing).
    public mutating func next(id: Int) -> Document {
        var document: Document = ["_id": .int32(Int32(id))]
        if chance(85) { document.append("v", value(depth: 2)) }
        if chance(85) { document.append("a", value(depth: 3)) }
        return document
    }
}
