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
        ("min", "min: 1", { p in
            ["$or": [[p: ["$lt": 1]], [p: .double(.nan)], [p: ["$type": types(except: numberTypes + noValue)]]]]
        }),
        ("max", "max: 5", { p in
            ["$or": [[p: ["$gt": 5]], [p: .double(.nan)], [p: ["$type": types(except: numberTypes + noValue)]]]]
        }),
        ("in", "in: [5, x]", { p in
            ["$or": [
                [p: ["$lt": 5]], [p: ["$gt": 5]], [p: .double(.nan)], [p: ["$lt": "x"]], [p: ["$gt": "x"]],
                [p: ["$type": types(except: numberTypes + ["string", "symbol"] + noValue)]],
            ]]
        }),
        ("pattern", "pattern: '^a'", { p in
            ["$or": [[p: ["$regex": "^(?!a)"]], [p: ["$type": types(except: ["string", "symbol"] + noValue)]]]]
        }),
        ("date", "max: 2022-04-15T05:20:00Z", { p in
            ["$or": [[p: ["$gt": .datetime(limit)]], [p: ["$type": types(except: ["date"] + noValue)]]]]
        }),
    ]

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

        var spec = "version: 1\nchecks:\n"
        for set in Self.typeSets {
            spec += "  - check: field_completeness\n    collection: docs\n    undeclared_top: 0\n    fields:\n"
            for path in Self.paths { spec += "      \(path): {min_complete: 1\(set.yaml.map { ", types: \($0)" } ?? "")}\n" }
        }
        spec += "  - check: value_rules\n    collection: docs\n    rules:\n"
        for path in Self.paths {
            for rule in Self.rules { spec += "      - {field: \(path), name: \(path) \(rule.name), \(rule.yaml)}\n" }
        }
        for path in Self.paths {
            spec += "  - check: unique_values\n    collection: docs\n    field: \(path)\n"
            spec += "  - check: references\n    collection: docs\n    field: \(path)\n    to_collection: targets\n    to_field: \(path)\n"
        }
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
                let complete = try docs.countDocuments([path: ["$type": set.aliases.map { .array($0.map(BSONValue.string)) } ?? Self.types(except: ["null", "undefined"])]])
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
        for (index, path) in Self.paths.enumerated() {
            let unique = results[Self.typeSets.count + 1 + 2 * index]
            let references = results[Self.typeSets.count + 2 + 2 * index]
            var duplicated = 0
            var extra = 0
            var orphans: [BSONValue] = []
            for value in try distinct("docs", path) {
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
        }
        print("DifferentialTests: seed \(seed): \(Self.documents) + \(Self.targets) documents, \(figures) figures compared, \(disagreements.count) disagreement(s)")
        XCTAssertEqual(disagreements, [], "seed \(seed) (rerun with compare(seed: \(seed)))")
    }
}
