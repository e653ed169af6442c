import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// The server is the oracle: random documents (every BSON type, nesting, arrays of documents and of
/// arrays, numbers at their boundaries) fill a real collection, the audit reports its figures, and each
/// figure is computed again with the server's own operators (`count` with the equivalent filter,
/// `distinct`, per-value counts as a multikey index sees them). Every disagreement is listed with the
/// seed that reproduces it.
final class DifferentialTests: XCTestCase {
    static let paths = ["v", "a.b", "a.0", "a.b.c", "a.1.b", "a.b.0"]
    static let documents = 10_000
    static let targets = 2_000

    func testFixedSeed() throws { try compare(seed: 20_261_122) }

    func testFreshSeed() throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        print("DifferentialTests: fresh seed \(seed)")
        try compare(seed: seed)
    }

    static let allTypes = BSONType.allCases.map(\.alias)
    static func types(except excluded: [String]) -> BSONValue { .array(allTypes.filter { !excluded.contains($0) }.map(BSONValue.string)) }
    static let numberTypes = ["int", "long", "double", "decimal"]
    static let noValue = ["null", "undefined", "array"]
    static let typeSets: [(name: String, yaml: String?, aliases: [String]?)] = [
        ("any", nil, nil), ("number", "[number]", numberTypes), ("string", "[string]", ["string"]), ("array", "[array]", ["array"]),
    ]
    static let limit = Date(timeIntervalSince1970: 1_650_000_000)
    /// Each rule: its spec text and the filter matching the documents that break it.
    static let rules: [(name: String, yaml: String, violation: @Sendable (String) -> Document)] = [
        (
            "min", "min: 1",
            { p in
                ["$or": [[p: ["$lt": 1]], [p: .double(.nan)], [p: ["$type": types(except: numberTypes + noValue)]]]]
            }
        ),
        (
            "max", "max: 5",
            { p in
                ["$or": [[p: ["$gt": 5]], [p: .double(.nan)], [p: ["$type": types(except: numberTypes + noValue)]]]]
            }
        ),
        (
            "in", "in: [5, x]",
            { p in
                [
                    "$or": [
                        [p: ["$lt": 5]], [p: ["$gt": 5]], [p: .double(.nan)], [p: ["$lt": "x"]], [p: ["$gt": "x"]],
                        [p: ["$type": types(except: numberTypes + ["string", "symbol"] + noValue)]],
                    ]
                ]
            }
        ),
        (
            "pattern", "pattern: '^a'",
            { p in
                ["$or": [[p: ["$regex": "^(?!a)"]], [p: ["$type": types(except: ["string", "symbol"] + noValue)]]]]
            }
        ),
        (
            "date", "max: 2022-04-15T05:20:00Z",
            { p in
                ["$or": [[p: ["$gt": .datetime(limit)]], [p: ["$type": types(except: ["date"] + noValue)]]]]
            }
        ),
    ]

    /// Every document check over the random documents of `docs`: field_completeness per type set, each
    /// rule on each path, live_historic, unique_values on each path (and references to `targets`).
    static func documentChecksSpec(undeclaredTop: Int, references: Bool) -> String {
        var spec = "version: 1\nchecks:\n"
        for set in typeSets {
            spec += "  - check: field_completeness\n    collection: docs\n    undeclared_top: \(undeclaredTop)\n    fields:\n"
            for path in paths { spec += "      \(path): {min_complete: 1\(set.yaml.map { ", types: \($0)" } ?? "")}\n" }
        }
        spec += "  - check: value_rules\n    collection: docs\n    rules:\n"
        for path in paths {
            for rule in rules { spec += "      - {field: \(path), name: \(path) \(rule.name), \(rule.yaml)}\n" }
        }
        spec += "  - check: live_historic\n    collection: docs\n    start_field: v\n    end_field: a.b\n    deleted_field: a.0\n"
        for path in paths {
            spec += "  - check: unique_values\n    collection: docs\n    field: \(path)\n"
            if references {
                spec += "  - check: references\n    collection: docs\n    field: \(path)\n    to_collection: targets\n    to_field: \(path)\n"
            }
        }
        return spec
    }

    func compare(seed: UInt64) throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("differential"))
        defer { try? database.drop() }
        var generator = RandomDocuments(seed: seed)
        let docs = database.collection("docs")
        for start in stride(from: 0, to: Self.documents, by: 1_000) {
            try docs.insertMany((start..<min(start + 1_000, Self.documents)).map { generator.next(id: $0) })
        }
        var targetGenerator = RandomDocuments(seed: seed ^ 0x5EED)
        try database.collection("targets").insertMany((0..<Self.targets).map { targetGenerator.next(id: $0) })

        // live_historic is not compared: it runs for its conversions of dates at the ends of the int64 range (never a trap).
        let spec = Self.documentChecksSpec(undeclaredTop: 0, references: true)
        let report = try Auditor(spec: try AuditSpec(text: spec, file: "differential.yml")).run(on: client, database: database.name, failOn: .high)
        var disagreements: [String] = []
        var figures = 0
        func expect(_ what: String, audit: Int, server: Int) {
            figures += 1
            if audit != server { disagreements.append("\(what): audit \(audit), server \(server)") }
        }
        func count(_ metric: Metric?) -> Int {
            switch metric {
            case .count(let n)?: return n
            case .proportion(let p)?: return p.count
            default: return 0
            }
        }
        let results = report.checks
        XCTAssertEqual(results.filter { $0.status == .notRun }.map { "\($0.check): \($0.reason ?? "")" }, [], "seed \(seed)")
        let total = Self.documents

        // field_completeness: $exists and $type.
        for (setIndex, set) in Self.typeSets.enumerated() {
            let result = results[setIndex]
            for path in Self.paths {
                let finding = result.findings.first { $0.kind == "incomplete_field" && $0.subject == path }
                let missing = try docs.countDocuments([path: ["$exists": false]])
                let complete = try docs.countDocuments([
                    path: ["$type": set.aliases.map { .array($0.map(BSONValue.string)) } ?? Self.types(except: ["null", "undefined"])]
                ])
                let null = try docs.countDocuments([path: ["$exists": true], "$nor": [[path: ["$type": Self.types(except: ["null", "undefined"])]]]])
                let name = "field_completeness \(path) types \(set.name)"
                expect("\(name) complete", audit: finding.map { count($0.metrics["complete"]) } ?? total, server: complete)
                expect("\(name) missing", audit: finding.map { count($0.metrics["missing"]) } ?? 0, server: missing)
                expect("\(name) null", audit: finding.map { count($0.metrics["null"]) } ?? 0, server: null)
            }
        }
        // value_rules: documents holding a value that breaks each rule.
        let rules = results[Self.typeSets.count]
        for path in Self.paths {
            for rule in Self.rules {
                let finding = rules.findings.first { $0.subject == "\(path) \(rule.name)" }
                expect("value_rules \(path) \(rule.name)", audit: count(finding?.metrics["violations"]), server: try docs.countDocuments(rule.violation(path)))
            }
        }
        // unique_values and references, value by value.
        func holding(_ path: String, _ value: BSONValue) -> Document {
            if case .array = value { return [path: ["$elemMatch": ["$eq": value]]] }
            return [path: ["$eq": value]]
        }
        func distinct(_ collection: String, _ path: String) throws -> [BSONValue] {
            let reply = try database.runCommand(["distinct": .string(collection), "key": .string(path)])
            return (reply["values"]?.arrayValue ?? []).filter { $0 != .null && $0 != .undefined }
        }
        var distinctValues = 0
        var referencePaths: [(path: String, orphanValues: Int, orphanDocuments: Int)] = []
        for (index, path) in Self.paths.enumerated() {
            // Through a numeric component the server's own operators disagree with each other (`distinct`
            // expands `a.0` over `a: [[1, 2]]` into 1 and 2, a query and a unique index see [1, 2]): no
            // single oracle, so those paths are compared by field_completeness and value_rules only.
            if path.split(separator: ".").contains(where: { $0.allSatisfy(\.isNumber) }) { continue }
            let unique = results[Self.typeSets.count + 2 + 2 * index]
            let references = results[Self.typeSets.count + 3 + 2 * index]
            var duplicated = 0
            var extra = 0
            var orphans: [BSONValue] = []
            for value in try distinct("docs", path) {
                distinctValues += 1
                let holders = try docs.countDocuments(holding(path, value))
                if holders > 1 {
                    duplicated += 1
                    extra += holders - 1
                }
                if try database.collection("targets").countDocuments(holding(path, value)) == 0 { orphans.append(value) }
            }
            let finding = unique.findings.first { $0.kind == "duplicate_values" }
            expect("unique_values \(path) duplicatedValues", audit: count(finding?.metrics["duplicatedValues"]), server: duplicated)
            expect("unique_values \(path) extraDocuments", audit: count(finding?.metrics["extraDocuments"]), server: extra)
            let orphanDocuments = orphans.isEmpty ? 0 : try docs.countDocuments(["$or": .array(orphans.map { .document(holding(path, $0)) })])
            expect("references \(path) orphanValues", audit: count(references.metrics["orphanValues"]), server: orphans.count)
            expect("references \(path) orphanDocuments", audit: count(references.metrics["orphanDocuments"]), server: orphanDocuments)
            referencePaths.append((path, orphans.count, orphanDocuments))
        }
        // references the other way, from the 2,000 targets to the 10,000 docs: the referencing side is the
        // smaller, so its pass holds the references and the docs' pass looks its values up in them.
        let heldPaths = Self.paths.filter { !$0.split(separator: ".").contains(where: { $0.allSatisfy(\.isNumber) }) }
        let heldSpec =
            "version: 1\nchecks:\n"
            + heldPaths.map {
                "  - {check: references, collection: targets, field: \($0), to_collection: docs, to_field: \($0)}\n"
            }.joined()
        let held = try Auditor(spec: try AuditSpec(text: heldSpec, file: "held.yml")).run(on: client, database: database.name, failOn: .high)
        for (index, path) in heldPaths.enumerated() {
            var orphans: [BSONValue] = []
            for value in try distinct("targets", path) where try docs.countDocuments(holding(path, value)) == 0 { orphans.append(value) }
            let orphanDocuments =
                orphans.isEmpty
                ? 0 : try database.collection("targets").countDocuments(["$or": .array(orphans.map { .document(holding(path, $0)) })])
            let result = held.checks[index]
            expect("references held \(path) orphanValues", audit: count(result.metrics["orphanValues"]), server: orphans.count)
            expect("references held \(path) orphanDocuments", audit: count(result.metrics["orphanDocuments"]), server: orphanDocuments)
            if let method = result.findings.first(where: { $0.kind == "orphan_references" })?.fact("method"), !method.hasPrefix("the references' hashes held") {
                disagreements.append("references held \(path): read by \(method)")
            }
        }
        // references from a sample as large as the collection: its values compared with one read of the
        // targets, then looked up with $in queries on an index of each target path.
        let referencesSpec =
            "version: 1\nchecks:\n"
            + referencePaths.map {
                "  - {check: references, collection: docs, field: \($0.path), to_collection: targets, to_field: \($0.path)}\n"
            }.joined()
        for indexed in [false, true] {
            if indexed {
                try database.runCommand([
                    "createIndexes": "targets",
                    "indexes": .array(referencePaths.map { ["key": [$0.path: 1], "name": .string("by \($0.path)")] }),
                ])
            }
            let sampled = try Auditor(spec: try AuditSpec(text: referencesSpec, file: "sampled.yml"), scanOptions: ScanOptions(sampleSize: total))
                .run(on: client, database: database.name, failOn: .high)
            for (result, oracle) in zip(sampled.checks, referencePaths) {
                let name = "references \(oracle.path) sampled\(indexed ? ", by index" : "")"
                XCTAssertEqual(result.sample?.size, total, name)
                expect("\(name) orphanValues", audit: count(result.metrics["orphanValues"]), server: oracle.orphanValues)
                expect("\(name) orphanDocuments", audit: count(result.metrics["orphanDocuments"]), server: oracle.orphanDocuments)
            }
        }
        let valuesChecked = count(rules.metrics["valuesChecked"])
        print(
            "DifferentialTests: seed \(seed): \(Self.documents) + \(Self.targets) documents, \(valuesChecked) values checked by the rules, "
                + "\(distinctValues) distinct values counted one by one on the server, \(figures) figures compared, \(disagreements.count) disagreement(s)")
        XCTAssertEqual(disagreements, [], "seed \(seed) (rerun with compare(seed: \(seed)))")
    }
}

/// unique_values against building the unique index itself, and references against `$lookup`, on the
/// cases the issue named: each collection holds values the tool used to get wrong.
final class UniqueIndexOracleTests: XCTestCase {
    static let cases: [(name: String, values: [BSONValue])] = [
        (
            "int64 ids near 1.5e18",
            [.int64(1_500_000_000_000_000_001), .int64(1_500_000_000_000_000_002), .int64(1_500_000_000_000_000_003), .int64(1_500_000_000_000_000_004)]
        ),
        ("1, 1.0 and Decimal128 1.0", [.int32(1), .double(1), .decimal128("1.0")]),
        ("-0 and 0", [.double(-0.0), .int32(0)]),
        ("NaN twice", [.double(.nan), .decimal128("NaN")]),
        ("a string and a symbol", [.string("s"), .symbol("s")]),
        ("an array repeating a value", [[1, 1], 2]),
        ("elements shared by arrays", [[1, 2], [3, 2]]),
        ("1E-999 and 0", [.decimal128("1E-999"), .int32(0)]),
        ("int64 beyond 2^53 and its double", [.int64(9_007_199_254_740_993), .double(9_007_199_254_740_992)]),
        ("decimal 2^63 and the double", [.decimal128("9223372036854775808"), .double(9_223_372_036_854_775_808.0)]),
        ("documents by value", [["x": 1], ["x": .double(1)]]),
        ("arrays of documents", [[["k": 1]], [["k": 2], ["k": 1]]]),
        ("decimal 0.1 and double 0.1", [.decimal128("0.1"), .double(0.1)]),
    ]

    func testUniqueValuesAgreesWithBuildingTheUniqueIndex() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("uniqueoracle"))
        defer { try? database.drop() }
        for (index, testCase) in Self.cases.enumerated() {
            let name = "c\(index)"
            let collection = database.collection(name)
            try collection.insertMany(testCase.values.enumerated().map { ["_id": .int32(Int32($0.offset)), "u": $0.element] })
            let spec = try AuditSpec(text: "version: 1\nchecks:\n  - check: unique_values\n    collection: \(name)\n    field: u\n", file: "u.yml")
            let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
            let reported = report.allFindings.contains { $0.kind == "duplicate_values" }
            var built = true
            do {
                try collection.createIndexes([IndexSpec(keys: [IndexKey(field: "u", direction: 1)], unique: true)])
            } catch {
                built = false
            }
            XCTAssertEqual(
                reported, !built,
                "\(testCase.name): the audit \(reported ? "reports" : "does not report") duplicates, the unique index \(built ? "builds" : "fails")")
        }
    }

    func testReferencesAgreeWithLookup() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("lookuporacle"))
        defer { try? database.drop() }
        try database.collection("targets").insertMany([["_id": 7], ["_id": .int64(1_500_000_000_000_000_001)], ["_id": "s"], ["_id": .double(0)]])
        try database.collection("refs").insertMany([
            ["r": .decimal128("7")], ["r": .double(7)], ["r": .int64(1_500_000_000_000_000_002)], ["r": .symbol("s")],
            ["r": .double(-0.0)], ["r": [7, .decimal128("7.00")]], ["r": .decimal128("1E-999")], ["r": [["x": 1]]],
        ])
        let spec = try AuditSpec(
            text: "version: 1\nchecks:\n  - check: references\n    collection: refs\n    field: r\n    to_collection: targets\n", file: "r.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        var lookupOrphans = 0
        try database.collection("refs").aggregate([
            ["$lookup": ["from": "targets", "localField": "r", "foreignField": "_id", "as": "t"]], ["$match": ["t": ["$size": 0]]],
        ]) { cursor in while try cursor.next() != nil { lookupOrphans += 1 } }
        let orphans: Metric? = report.checks[0].metrics["orphanDocuments"]
        XCTAssertEqual(orphans.map { $0.number }, Double(lookupOrphans), "every document here holds one reference value (or equal ones)")
        XCTAssertEqual(lookupOrphans, 3, "1500000000000000002, 1E-999 and {x: 1} resolve to nothing")
        XCTAssertEqual(report.checks[0].findings.first?.fact("method"), "hashes of the target's values from its shared pass")
        // With more targets than references, the references are held and the targets looked up in them: the same orphans.
        try database.collection("targets").insertMany((0..<10).map { ["_id": .string("filler\($0)")] })
        let held = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(held.checks[0].metrics["orphanDocuments"].map { $0.number }, Double(lookupOrphans))
        XCTAssertEqual(held.checks[0].metrics["orphanValues"], .count(3))
        XCTAssertEqual(held.checks[0].findings.first?.fact("method")?.hasPrefix("the references' hashes held"), true)
    }
}
