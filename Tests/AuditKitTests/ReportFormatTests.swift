import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Reports validate against their published schemas: JSON against docs/report-schema.json (with Python's
/// jsonschema) and JUnit XML against docs/junit.xsd (with xmllint). scripts/test installs both tools.
final class ReportFormatTests: XCTestCase {
    static func report() -> AuditReport {
        let findings = [
            Finding(
                check: "critical_indexes", collection: "recordings", kind: "missing_index", subject: "{uuid: 1}", severity: .high,
                title: "required index {uuid: 1} is missing", impact: "scans <everything> & more",
                fix: "db.getSiblingDB(\"x\").runCommand({\"createIndexes\": \"recordings\"})",
                metrics: ["count": .proportion(Proportion(count: 3, of: 10)), "p95Ms": .value(0.25), "indexes": .count(4)],
                examples: [.int64(1_234_567), .objectId(ObjectID(hex: "0123456789abcdef01234567")!), .string("a\u{1B}]0;pwned\u{7}")],
                facts: [("servedBy", "uuid_1")], indexToCreate: ["key": ["uuid": 1, "at": -1], "name": "uuid_1"]),
            Finding(
                check: "critical_indexes", collection: "recordings", kind: "served_by_prefix", severity: .info, title: "served by prefix",
                impact: "fyi", metrics: ["live": .proportion(Proportion(count: 3, of: 100, exact: false, total: 10_000))]),
        ]
        return AuditReport(
            database: "sample", target: "mongodb://auditor:*****@db1/", serverVersion: "6.0.5", specFile: "Checks/mongo-audit.yml",
            specSHA256: String(repeating: "ab", count: 32), startedAt: Date(timeIntervalSince1970: 1_800_000_000),
            durationSeconds: 1.25, failOn: .high,
            checks: [
                CheckResult(
                    check: "critical_indexes", collection: "recordings", severity: .high, status: .failed, durationSeconds: 0.01, findings: findings,
                    metrics: ["indexesExisting": .count(2)], specLine: 7),
                CheckResult(
                    check: "index_hygiene", collection: "recordings", severity: .low, status: .notRun,
                    reason: "not authorized on sample to execute command { aggregate: \"recordings\" }"),
                CheckResult(check: "required_collections", collection: nil, severity: .critical, status: .passed),
            ])
    }

    func write(_ text: String, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID())-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Report timestamps are written by hand (no ICU): the same text ISO8601DateFormatter writes, over
    /// random instants from 1583 (the formatter is Julian before) to 9999, leap days and the ends of days.
    func testTimestampsMatchISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        let fixed: [Double] = [0, -1, -0.001, 86_399.999, 951_782_400, 951_868_799.5, 4_107_542_400, -12_212_553_600, 253_402_300_799.999]
        let instants = fixed + (0..<20_000).map { _ in Double(Int64.random(in: -12_212_553_600_000...253_402_300_799_999, using: &generator)) / 1_000 }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            XCTAssertEqual(timestamp(date), formatter.string(from: date), "\(seconds)")
        }
    }

    func testJSONReportValidatesAgainstItsSchema() throws {
        let path = try write(try JSONReporter().render(Self.report()), "report.json")
        let schema = repositoryRoot.appendingPathComponent("docs/report-schema.json").path
        let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); print('valid')"
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, path, schema])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "valid")

        // Figures are JSON numbers a CI script reads as numbers; key order of the index is kept.
        let json = try JSONReporter().render(Self.report())
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let finding = try XCTUnwrap(((object["checks"] as? [[String: Any]])?.first?["findings"] as? [[String: Any]])?.first)
        XCTAssertEqual(finding["id"] as? String, "critical_indexes/recordings/missing_index/{uuid: 1}")
        XCTAssertEqual((finding["metrics"] as? [String: Any])?["indexes"] as? Int, 4)
        XCTAssertEqual(((finding["metrics"] as? [String: Any])?["count"] as? [String: Any])?["share"] as? Double, 0.3)
        XCTAssertEqual((finding["examples"] as? [Any])?.first as? Int, 1_234_567)
        let keyOrder = ["\"uuid\": 1", "\"at\": -1"].compactMap { json.range(of: $0)?.lowerBound }
        XCTAssertEqual(keyOrder.count, 2)
        XCTAssertEqual(keyOrder, keyOrder.sorted(), "the index's key order is kept")

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
        XCTAssertTrue(markdown.contains("- **recordings: required index {uuid: 1} is missing** (`critical_indexes`)"), markdown)
        XCTAssertTrue(markdown.contains("scans \\<everything\\> & more"), "untrusted text cannot open HTML in Markdown")
        XCTAssertFalse(markdown.contains("\u{1B}"), "no terminal escape reaches a job summary")
        XCTAssertFalse(markdown.contains("served by prefix"), "info findings stay in the table counts")
    }

    func testTextReportGroupsBySeverityAndNamesTheGate() throws {
        let text = try TextReporter(colour: false).render(Self.report())
        XCTAssertTrue(text.contains("HIGH (1)\n  ✗ recordings: required index {uuid: 1} is missing  [critical_indexes]"), text)
        XCTAssertTrue(text.contains("INFO (1)"))
        XCTAssertTrue(text.contains("NOT RUN: index_hygiene on recordings"))
        XCTAssertTrue(text.contains("Result: FAILED, 1 finding(s) at or above high"))
        XCTAssertTrue(text.contains("    count: 3 of 10 (30.00%)\n    p95Ms: 0.2 ms\n    indexes: 4\n"), text)
        XCTAssertTrue(text.contains(#"examples: 1234567, ObjectId("0123456789abcdef01234567"), "a\u001b]0;pwned\u0007""#), text)
        XCTAssertTrue(text.contains("live: ~300 of 10000 (3.00%, 95% CI "), text)
        XCTAssertFalse(text.contains("\u{1B}"), "neither colour nor the value's escape sequence reaches the terminal")
        XCTAssertTrue(try TextReporter(colour: true).render(Self.report()).contains("\u{1B}[1m"), "colour is per reporter, not global")
    }
}
