import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// No silent pass: a missing or empty collection, a rule or field that reaches no value, and a path with
/// an array position that the projection must not lose.
final class SilentPassTests: XCTestCase {
    func testMissingEmptyAndValuelessAreFindings() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("silent"))
        defer { try? database.drop() }
        try database.runCommand(["create": "empty"])
        try database.collection("places").insertMany([
            ["location": ["coordinates": [10, 200]]], ["location": ["coordinates": [20, 95]]], ["location": ["coordinates": [30, 10]]],
        ])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: value_rules, collection: placse, rules: [{field: x, min: 1}]}
                  - {check: field_completeness, collection: placse, fields: {x: {}}}
                  - {check: live_historic, collection: placse}
                  - {check: unique_values, collection: placse, field: x}
                  - {check: references, collection: placse, field: x, to_collection: places}
                  - {check: unique_values, collection: empty, field: x}
                  - {check: value_rules, collection: places, rules: [{field: location.coordinates.1, max: 90}, {field: lcation.x, min: 1}]}
                  - {check: unique_values, collection: places, field: nothing}
                """, file: "silent.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let ids = Set(report.allFindings.map(\.id))
        for check in ["value_rules", "field_completeness", "live_historic", "unique_values", "references"] {
            XCTAssertTrue(ids.contains("\(check)/placse/missing_collection"), "\(check): \(ids.sorted())")
        }
        XCTAssertTrue(ids.contains("unique_values/empty/empty_collection"), "\(ids.sorted())")
        XCTAssertTrue(ids.contains("value_rules/places/rule_checked_nothing/lcation.x >= 1"), "\(ids.sorted())")
        XCTAssertTrue(ids.contains("unique_values/places/no_values/nothing"), "\(ids.sorted())")
        // The latitude is the second coordinate: a projection of `location.coordinates.1` would return empty arrays.
        let latitude = try XCTUnwrap(report.allFindings.first { $0.id == "value_rules/places/rule_violated/location.coordinates.1 <= 90" })
        XCTAssertEqual(latitude.metrics["violations"]?.number, 2)
        XCTAssertEqual(latitude.metrics["checkedValues"]?.number, 3)
    }
}

/// `value_rules` patterns run on the server (PCRE, as `$regex`), under the check's time limit.
final class PatternOnServerTests: XCTestCase {
    func testPatternsAreTheServersAndBounded() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("pattern"))
        defer { try? database.drop() }
        try database.collection("c").insertMany([
            ["s": "abc"], ["s": ["abd", "xyz"]], ["s": .symbol("abe")], ["s": 5], ["s": .string(String(repeating: "a", count: 40) + "!")],
        ])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: value_rules, collection: c, rules: [{field: s, pattern: '^ab\\w', name: word}]}
                  - {check: value_rules, collection: c, rules: [{field: s, pattern: '(?w)a', name: broken}]}
                  - {check: value_rules, collection: c, time_limit_ms: 2000, rules: [{field: s, pattern: '^(a|aa)+$', name: catastrophic}]}
                """, file: "pattern.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        // `\w` is PCRE: "abc" and the symbol "abe" match; ["abd", "xyz"] (xyz), 5 and the long string do not.
        let word = try XCTUnwrap(report.allFindings.first { $0.id == "value_rules/c/rule_violated/word" })
        XCTAssertEqual(word.metrics["violations"]?.number, 3)
        // `(?w)` is ICU syntax the spec parser accepts, but not PCRE: the server rejects it, the check says so.
        XCTAssertEqual(report.checks[1].status, .notRun, "a pattern the server rejects fails the check")
        XCTAssertTrue(
            (report.checks[1].reason ?? "").lowercased().contains("regex") || (report.checks[1].reason ?? "").contains("("), report.checks[1].reason ?? "")
        // The catastrophic pattern runs on the server under the check's 2 s limit (or its own backtracking
        // limit): it ends, reported as not run or with its figures, and the audit goes on.
        XCTAssertEqual(report.checks.count, 3)
        print("PatternOnServerTests: " + report.checks.map { "\($0.status) \($0.reason ?? "")" }.joined(separator: " | "))
    }
}
