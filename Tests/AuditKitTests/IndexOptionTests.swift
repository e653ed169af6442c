import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// Index options on the real server: each option survives spec -> createIndexes -> listIndexes, and
/// critical_indexes and index_hygiene do not let an index with other options serve as a prefix.
final class IndexOptionTests: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("indexopts"))
    }

    override func tearDownWithError() throws {
        try database?.drop()
    }

    func audit(_ checks: [(check: String, entry: String)]) throws -> [Finding] {
        let text =
            "version: 1\nchecks:\n"
            + checks.map { check in
                "  - check: \(check.check)\n" + check.entry.split(separator: "\n").map { "    \($0)\n" }.joined()
            }.joined()
        let spec = try AuditSpec(text: text, file: "indexes.yml")
        return try Auditor(spec: spec).run(on: client, database: database.name, failOn: .low).allFindings
    }

    func create(_ collection: String, _ indexes: [Document]) throws {
        try database.runCommand(["createIndexes": .string(collection), "indexes": .array(indexes.map(BSONValue.document))])
    }

    func testEveryOptionSurvivesSpecToServerAndBack() throws {
        let yaml = """
            - {keys: {uuid: 1}, unique: true}
            - {keys: {site: 1}, sparse: true}
            - {keys: {end_time: 1}, partial_filter: {deleted: false}}
            - {keys: {expires_at: 1}, expire_after_seconds: 3600}
            - {keys: {name: 1}, collation: {locale: en, strength: 2}}
            - {keys: {legacy: 1}, hidden: true}
            - {keys: {site: 1, start_time: -1}, name: site_start, unique: true, partial_filter: {start_time: {$exists: true}}, collation: {locale: fr}}
            - {keys: {title: text}}
            """
        let wanted = try SpecNode.parse(yaml, file: "indexes.yml").array().map { try $0.indexSpec() }
        for option in IndexSpec.options {
            XCTAssertTrue(wanted.contains { option.value(in: $0) != nil }, "the spec sets \(option.specName)")
        }
        try create("recordings", wanted.map(\.document))
        let listed = Dictionary(uniqueKeysWithValues: try database.collection("recordings").listIndexes().map { ($0.name, $0) })
        for index in wanted {
            let back = try XCTUnwrap(listed[index.name], index.name)
            XCTAssertTrue(back.satisfies(index), "\(index.name): \(back.document.relaxedJSON)")
            XCTAssertEqual(back.differences(from: index), [], index.name)
            for option in IndexSpec.options {
                XCTAssertEqual(option.value(in: back) != nil, option.value(in: index) != nil, "\(index.name).\(option.specName)")
                XCTAssertTrue(option.holds(.equal, existing: back, wanted: index), "\(index.name).\(option.specName)")
            }
        }
        // critical_indexes reads the same YAML and finds every index but the hidden one in place.
        let required = yaml.split(separator: "\n").filter { !$0.contains("hidden") }.joined(separator: "\n")
        let findings = try audit([("critical_indexes", "collection: recordings\nindexes:\n" + required)])
        XCTAssertEqual(findings, [])
    }

    /// Each case: the compound index on {a, b} that exists, the {a} index required, whether it serves.
    let prefixCases: [(existing: Document, required: String, serves: Bool)] = [
        ([:], "", true),
        (["partialFilterExpression": ["deleted": false]], "", false),
        ([:], ", partial_filter: {deleted: false}", false),
        (["partialFilterExpression": ["deleted": true]], ", partial_filter: {deleted: false}", false),
        (["partialFilterExpression": ["deleted": false]], ", partial_filter: {deleted: false}", true),
        (["sparse": true], "", false),
        ([:], ", sparse: true", false),
        (["unique": true], ", unique: true", false),
        (["unique": true], "", true),
        ([:], ", expire_after_seconds: 60", false),
        (["collation": ["locale": "en", "strength": 2]], "", false),
        ([:], ", collation: {locale: en, strength: 2}", false),
        (["collation": ["locale": "en", "strength": 2]], ", collation: {locale: en, strength: 2}", true),
        (["hidden": true], "", false),
    ]

    func testCriticalIndexesServesByPrefixOnlyWithTheRequiredOptions() throws {
        var checks: [(String, String)] = []
        for (number, example) in prefixCases.enumerated() {
            var index: Document = ["key": ["a": 1, "b": 1], "name": "a_b"]
            for (key, value) in example.existing.elements { index.append(key, value) }
            try create("c\(number)", [index])
            checks.append(("critical_indexes", "collection: c\(number)\nindexes: [{keys: {a: 1}\(example.required)}]"))
        }
        let findings = try audit(checks)
        for (number, example) in prefixCases.enumerated() {
            let mine = findings.filter { $0.collection == "c\(number)" }
            let served = mine.count == 1 && mine[0].severity == .info && mine[0].fact("servedBy") == "a_b"
            XCTAssertEqual(served, example.serves, "{a: 1\(example.required)} by a_b \(example.existing.relaxedJSON): \(mine.map(\.title))")
            if !example.serves { XCTAssertTrue(mine.contains { $0.severity == .high }, "c\(number)") }
        }
    }

    func testIndexHygieneCallsAPrefixRedundantOnlyWhenTheWiderIndexServesIt() throws {
        let cases: [(narrow: Document, wide: Document, redundant: Bool)] = [
            ([:], [:], true),
            ([:], ["partialFilterExpression": ["deleted": false]], false),
            (["partialFilterExpression": ["deleted": false]], [:], false),
            (["partialFilterExpression": ["deleted": false]], ["partialFilterExpression": ["deleted": false]], false),
            (["sparse": true], [:], false),
            ([:], ["sparse": true], false),
            (["unique": true], [:], false),
            (["expireAfterSeconds": 60], [:], false),
            ([:], ["collation": ["locale": "en", "strength": 2]], false),
            (["collation": ["locale": "en", "strength": 2]], [:], false),
            (["collation": ["locale": "en", "strength": 2]], ["collation": ["locale": "en", "strength": 2]], true),
            ([:], ["hidden": true], false),
        ]
        var checks: [(String, String)] = []
        for (number, example) in cases.enumerated() {
            var narrow: Document = ["key": ["a": 1], "name": "a"]
            for (key, value) in example.narrow.elements { narrow.append(key, value) }
            var wide: Document = ["key": ["a": 1, "b": 1], "name": "a_b"]
            for (key, value) in example.wide.elements { wide.append(key, value) }
            try create("h\(number)", [narrow, wide])
            checks.append(("index_hygiene", "collection: h\(number)"))
        }
        let findings = try audit(checks)
        for (number, example) in cases.enumerated() {
            let redundant = findings.contains { $0.collection == "h\(number)" && $0.fact("servedBy") == "a_b" }
            XCTAssertEqual(redundant, example.redundant, "a \(example.narrow.relaxedJSON) under a_b \(example.wide.relaxedJSON)")
        }
    }
}
