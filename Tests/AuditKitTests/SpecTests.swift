import SpecSupport
import XCTest

@testable import AuditKit

/// Asserts that parsing `text` as Checks/test.yml fails with a SpecError at `line` and `field`.
func assertSpecError(
    _ text: String, line: Int?, field: String, contains fragment: String, file: StaticString = #filePath,
    sourceLine: UInt = #line
) {
    XCTAssertThrowsError(try AuditSpec(text: text, file: "Checks/test.yml"), file: file, line: sourceLine) { error in
        guard let specError = error as? SpecError else { return XCTFail("not a SpecError: \(error)", file: file, line: sourceLine) }
        XCTAssertEqual(specError.file, "Checks/test.yml", file: file, line: sourceLine)
        XCTAssertEqual(specError.line, line, "\(specError)", file: file, line: sourceLine)
        XCTAssertEqual(specError.field, field, "\(specError)", file: file, line: sourceLine)
        XCTAssertTrue(specError.message.contains(fragment), "\(specError)", file: file, line: sourceLine)
    }
}

/// Spec parsing is pure logic: every error names file, line and field, and nothing falls back to defaults.
final class SpecTests: XCTestCase {
    func parse(_ text: String) throws -> AuditSpec { try AuditSpec(text: text, file: "Checks/test.yml") }

    func testTheShippedSpecParses() throws {
        let spec = try AuditSpec.load(path: repositoryFile("Checks/mongo-audit.yml"))
        XCTAssertEqual(spec.database, "sample")
        XCTAssertEqual(
            spec.checks.map(\.identifier),
            [
                "required_collections", "critical_indexes", "critical_indexes", "field_completeness", "live_historic",
                "value_rules", "unique_values", "references", "query_plans", "index_hygiene",
            ])
        XCTAssertEqual(spec.checks[2].severity, .medium, "the spec overrides the default severity")
        XCTAssertEqual(spec.checks[1].severity, .high)
        XCTAssertEqual(spec.sha256.count, 64)
    }

    func testJSONSpecsAreAccepted() throws {
        let spec = try parse(#"{"version": 1, "checks": [{"check": "required_collections", "collections": ["a"]}]}"#)
        XCTAssertEqual(spec.checks.count, 1)
    }

    func testUnknownCheckNamesTheLineAndKnownChecks() {
        assertSpecError(
            "version: 1\nchecks:\n  - check: required_colections\n    collections: [a]\n", line: 3,
            field: "checks[0].check", contains: "unknown check 'required_colections'; known checks: required_collections")
    }

    func testUnknownOptionIsRejected() {
        assertSpecError(
            "version: 1\nchecks:\n  - check: required_collections\n    collections: [a]\n    allow_view: true\n", line: 5,
            field: "checks[0].allow_view", contains: "unknown field")
    }

    func testWrongTypesAreRejected() {
        assertSpecError(
            "version: 1\nchecks:\n  - check: required_collections\n    collections: [a]\n    allow_views: yes please\n",
            line: 5, field: "checks[0].allow_views", contains: "expected true or false")
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: r\n    indexes:\n      - keys: {a: 2}\n",
            line: 6, field: "checks[0].indexes[0].keys.a", contains: "expected 1, -1")
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: r\n    indexes:\n      - keys: {a: 1}\n        unique: 1\n",
            line: 7, field: "checks[0].indexes[0].unique", contains: "expected true or false")
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: [r]\n    indexes: [{keys: {a: 1}}]\n",
            line: 4, field: "checks[0].collection", contains: "expected text")
    }

    func testBadSeverityAndMissingFields() {
        assertSpecError(
            "version: 1\nchecks:\n  - check: required_collections\n    severity: urgent\n    collections: [a]\n", line: 4,
            field: "checks[0].severity", contains: "expected one of critical, high")
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: r\n", line: 3, field: "checks[0]",
            contains: "missing required field 'indexes'")
    }

    func testDottedPathsMustBePaths() {
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: r\n    indexes: [{keys: {\"a..b\": 1}}]\n",
            line: 5, field: "checks[0].indexes[0].keys.a..b", contains: "is not a field path")
        assertSpecError(
            "version: 1\nchecks:\n  - check: critical_indexes\n    collection: r\n    indexes: [{keys: {\"$a\": 1}}]\n",
            line: 5, field: "checks[0].indexes[0].keys.$a", contains: "is not a field path")
    }

    func testInvalidYAMLEmptySpecAndVersion() {
        assertSpecError("version: 1\nchecks: [\n  - check: x\n", line: 3, field: "", contains: "invalid YAML")
        assertSpecError("", line: 1, field: "", contains: "the spec is empty")
        assertSpecError("version: 1\nchecks: []\n", line: 2, field: "checks", contains: "names no checks")
        assertSpecError("version: 2\nchecks: []\n", line: 1, field: "version", contains: "unsupported spec version")
        assertSpecError("checks: []\n", line: 1, field: "", contains: "missing required field 'version'")
        assertSpecError("version: 1\nchecks: []\nextra: 1\n", line: 3, field: "extra", contains: "unknown field")
    }

    func testErrorMessageReadsAsFileLineFieldMessage() {
        let error = SpecError(file: "Checks/a.yml", line: 3, column: 5, field: "checks[0].check", message: "unknown check 'x'")
        XCTAssertEqual(error.description, "Checks/a.yml:3:5: checks[0].check: unknown check 'x'")
    }
}

func repositoryFile(_ path: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(path).path
}

/// Bad input for the checks added with the audit issue: each names file, line and field.
final class CheckOptionTests: XCTestCase {
    /// One check entry (its lines indented under `checks:`) must be rejected.
    func assertRejected(_ entry: String, line: Int, field: String, contains fragment: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        let text = "version: 1\nchecks:\n  - " + entry.split(separator: "\n").joined(separator: "\n    ") + "\n"
        assertSpecError(text, line: line, field: field, contains: fragment, file: file, sourceLine: sourceLine)
    }

    /// A YAML alias bomb is a few lines that expand to billions of values; it is refused at a bound, as is
    /// nesting deeper than any spec needs and a file larger than any spec needs.
    func testAliasBombsDeepNestingAndHugeFilesAreRefused() {
        var bomb = ["version: 1", "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1...12 { bomb.append("x\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]") }
        bomb.append("checks: [*a12]")
        assertSpecError(bomb.joined(separator: "\n"), line: 2, field: "", contains: "expands to more than")
        let deep = "version: 1\nchecks: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n"
        assertSpecError(deep, line: 2, field: "", contains: "nested deeper than")
        let huge = "version: 1\n#" + String(repeating: "x", count: SpecNode.maxTextBytes) + "\nchecks: []\n"
        assertSpecError(huge, line: nil, field: "", contains: "larger than")
        // A small alias stays allowed.
        XCTAssertNoThrow(
            try AuditSpec(
                text: "version: 1\nchecks:\n  - check: required_collections\n    collections: &c [recordings]\n"
                    + "  - check: required_collections\n    collections: *c\n", file: "Checks/test.yml"))
    }

    /// Server-side JavaScript in a spec runs code on the audited server: refused unless the spec says so.
    func testServerSideJavaScriptIsRefusedUnlessAllowed() throws {
        assertRejected(
            "check: query_plans\ncollection: r\nqueries: [{name: q, filter: {$where: 'sleep(100000)'}}]", line: 5,
            field: "checks[0].queries[0].filter", contains: "$where runs JavaScript on the server")
        assertRejected(
            "check: query_plans\ncollection: r\nqueries: [{name: q, filter: {$expr: {$function: {body: 'x', args: [], lang: js}}}}]",
            line: 5, field: "checks[0].queries[0].filter", contains: "$function runs JavaScript")
        assertRejected(
            "check: critical_indexes\ncollection: r\nindexes: [{keys: {a: 1}, partial_filter: {$where: 'true'}}]", line: 5,
            field: "checks[0].indexes[0].partial_filter", contains: "$where runs JavaScript")
        let allowed =
            "version: 1\nallow_javascript: true\nchecks:\n  - check: query_plans\n    collection: r\n"
            + "    queries: [{name: q, filter: {$where: 'true'}}]\n"
        XCTAssertNoThrow(try AuditSpec(text: allowed, file: "Checks/test.yml"))
    }

    func testThresholdsTypesAndRulesAreValidated() {
        assertRejected(
            "check: field_completeness\ncollection: r\nfields: {uuid: {min_complete: 1.5}}", line: 5,
            field: "checks[0].fields.uuid.min_complete", contains: "between 0 and 1")
        assertRejected(
            "check: field_completeness\ncollection: r\nfields: {uuid: {types: [strng]}}", line: 5,
            field: "checks[0].fields.uuid.types[0]", contains: "unknown BSON type 'strng'")
        assertRejected(
            "check: field_completeness\ncollection: r\nfields: {uuid: {required: true}}", line: 5,
            field: "checks[0].fields.uuid.required", contains: "unknown field")
        assertRejected(
            "check: value_rules\ncollection: r\nrules: [{field: x}]", line: 5, field: "checks[0].rules[0]",
            contains: "at least one of min, max, in, pattern")
        assertRejected(
            "check: value_rules\ncollection: r\nrules: [{field: x, pattern: '(['}]", line: 5,
            field: "checks[0].rules[0].pattern", contains: "not a valid regular expression")
        assertRejected(
            "check: value_rules\ncollection: r\nrules: [{field: x, max: tomorrow}]", line: 5,
            field: "checks[0].rules[0].max", contains: "ISO 8601")
        assertRejected(
            "check: live_historic\ncollection: r\nlive_when: [end_missing, sometimes]", line: 5,
            field: "checks[0].live_when[1]", contains: "expected one of end_missing")
        assertRejected(
            "check: query_plans\ncollection: r\nqueries: [{name: q, filter: {t: {$date: 12x}}}]", line: 5,
            field: "checks[0].queries[0].filter", contains: "Extended JSON")
        assertRejected(
            "check: unique_values\ncollection: r\nfield: 'a..b'", line: 5, field: "checks[0].field", contains: "not a field path")
        assertRejected(
            "check: required_collections\ncollections: [a]\ntime_limit_ms: 0", line: 5, field: "checks[0].time_limit_ms",
            contains: "must be between 1 and")
        assertRejected(
            "check: live_historic\ncollection: r\nmax_live_days: .inf", line: 5, field: "checks[0].max_live_days", contains: "must be a number between")
    }
}
