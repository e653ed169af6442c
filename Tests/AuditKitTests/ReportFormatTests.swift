import Foundation
import TestSupport
import XCTest

@testable import AuditKit

/// Reports validate against their published schemas: JSON against docs/report-schema.json (with Python's
/// jsonschema) and JUnit XML against docs/junit.xsd (with xmllint). scripts/test installs both tools.
final class ReportFormatTests: XCTestCase {
    static func report() -> AuditReport {
        let findings = [
            Finding(
                check: "critical_indexes", collection: "recordings", severity: .high, title: "required index {uuid: 1} is missing",
                impact: "scans <everything> & more", fix: "db.getSiblingDB(\"x\").runCommand({\"createIndexes\": \"recordings\"})",
                details: ["keys": "{ \"uuid\" : 1 }"], indexToCreate: #"{"key": {"uuid": 1}, "name": "uuid_1"}"#),
            Finding(check: "critical_indexes", collection: "recordings", severity: .info, title: "served by prefix", impact: "fyi"),
        ]
        return AuditReport(
            database: "sample", target: "mongodb://auditor:*****@db1/", serverVersion: "6.0.5", specFile: "Checks/mongo-audit.yml",
            specSHA256: String(repeating: "ab", count: 32), startedAt: Date(timeIntervalSince1970: 1_800_000_000),
            durationSeconds: 1.25, failOn: .high,
            checks: [
                CheckResult(check: "critical_indexes", collection: "recordings", severity: .high, status: .failed, reason: nil, durationSeconds: 0.01, findings: findings),
                CheckResult(check: "index_hygiene", collection: "recordings", severity: .low, status: .notRun, reason: "not authorized on sample to execute command { aggregate: \"recordings\" }", durationSeconds: 0, findings: []),
                CheckResult(check: "required_collections", collection: nil, severity: .critical, status: .passed, reason: nil, durationSeconds: 0, findings: []),
            ])
    }

    func write(_ text: String, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID())-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testJSONReportValidatesAgainstItsSchema() throws {
        let path = try write(try JSONReporter().render(Self.report()), "report.json")
        let schema = repositoryRoot.appendingPathComponent("docs/report-schema.json").path
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')"
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, path, schema])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "valid")

        // The schema is strict enough to catch a broken report.
        var broken = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try JSONReporter().render(Self.report()).utf8)) as? [String: Any])
        broken["outcome"] = "maybe"
        let brokenPath = try write(String(decoding: try JSONSerialization.data(withJSONObject: broken), as: UTF8.self), "broken.json")
        XCTAssertNotEqual(try runProcess("/usr/bin/env", ["python3", "-c", script, brokenPath, schema]).status, 0)
    }

    func testJUnitReportValidatesAgainstItsSchemaAndCountsFailures() throws {
        let xml = try JUnitReporter().render(Self.report())
        let path = try write(xml, "junit.xml")
        let xsd = repositoryRoot.appendingPathComponent("docs/junit.xsd").path
        let result = try runProcess("/usr/bin/env", ["xmllint", "--noout", "--schema", xsd, path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""), xml)
        XCTAssertTrue(xml.contains("scans &lt;everything&gt; &amp; more"), "text is escaped")
        XCTAssertTrue(xml.contains("<testcase classname=\"mongo-audit.sample\" name=\"critical_indexes (recordings)\""))
    }

    func testMarkdownReportSummarisesForPullRequests() throws {
        let markdown = try MarkdownReporter().render(Self.report())
        XCTAssertTrue(markdown.hasPrefix("## ❌ mongo-audit: `sample` failed"), markdown)
        XCTAssertTrue(markdown.contains("| high | 1 |"))
        XCTAssertTrue(markdown.contains("| `index_hygiene` | recordings | not_run | 0 |"))
        XCTAssertTrue(markdown.contains("- **recordings: required index {uuid: 1} is missing** (`critical_indexes`)"))
        XCTAssertFalse(markdown.contains("served by prefix"), "info findings stay in the table counts")
    }

    func testTextReportGroupsBySeverityAndNamesTheGate() throws {
        let text = try TextReporter(colour: false).render(Self.report())
        XCTAssertTrue(text.contains("HIGH (1)\n  ✗ recordings: required index {uuid: 1} is missing  [critical_indexes]"), text)
        XCTAssertTrue(text.contains("INFO (1)"))
        XCTAssertTrue(text.contains("NOT RUN: index_hygiene on recordings"))
        XCTAssertTrue(text.contains("Result: FAILED, 1 finding(s) at or above high (exit 1)"))
        XCTAssertFalse(text.contains("\u{1B}["))
    }
}
