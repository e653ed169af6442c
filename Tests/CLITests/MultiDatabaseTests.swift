import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// Many databases of one schema, one gate: `--database` repeated or a pattern audits each with the same spec.
final class MultiDatabaseTests: XCTestCase {
    func testAPatternAuditsEachDatabaseWithASectionEachAndTheWorstExitCode() throws {
        let client = try TestServer.client()
        let prefix = TestServer.uniqueDatabaseName("tenant")
        let names = ["\(prefix)_a", "\(prefix)_b"]
        defer { for name in names { try? client.database(name).drop() } }
        try SampleDatabase(recordingCount: 200).create(in: client.database(names[0]))
        try SampleDatabase(recordingCount: 200, withAllCriticalIndexes: true).create(in: client.database(names[1]))
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("multi-\(UUID()).yml")
        defer { try? FileManager.default.removeItem(at: spec) }
        try "version: 1\nchecks:\n  - check: critical_indexes\n    collection: recordings\n    indexes: [{keys: {uuid: 1}}]\n"
            .write(to: spec, atomically: true, encoding: .utf8)
        let binary = try mongoAuditBinary()
        let base = ["audit", "--uri", try TestServer.uri(), "--spec", spec.path, "--database", "\(prefix)_*"]

        let text = try runProcess(binary, base)
        XCTAssertEqual(text.status, 1, "the worst database decides: \(text.stderr)")
        XCTAssertTrue(text.stdout.contains("database \"\(names[0])\"") && text.stdout.contains("database \"\(names[1])\""), text.stdout)
        XCTAssertTrue(text.stdout.contains("Databases: 2 audited, not passed: \(names[0]) (exit 1)"), text.stdout)

        let json = try runProcess(binary, base + ["--format", "json"])
        let lines = json.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, json.stdout)
        let schema = repositoryRoot.appendingPathComponent("docs/report-schema.json").path
        for (line, name) in zip(lines, names) {
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(report["database"] as? String, name)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("line-\(UUID()).json")
            defer { try? FileManager.default.removeItem(at: file) }
            try String(line).write(to: file, atomically: true, encoding: .utf8)
            let script = "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))"
            XCTAssertEqual(try runProcess("/usr/bin/env", ["python3", "-c", script, file.path, schema]).status, 0, "each line is a schema-v2 report")
        }

        let listed = try runProcess(binary, ["audit", "--uri", try TestServer.uri(), "--spec", spec.path, "--database", names[1], "--database", names[1]])
        XCTAssertEqual(listed.status, 0, listed.stdout + listed.stderr)
        let none = try runProcess(binary, ["audit", "--uri", try TestServer.uri(), "--spec", spec.path, "--database", "\(prefix)_nothing*"])
        XCTAssertEqual(none.status, 2, none.stderr)
        XCTAssertTrue(none.stderr.contains("no database matches"), none.stderr)
    }
}
