import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// Hostile input through the built binary and a real server: secrets in any URI option never printed,
/// and text from the database never acts on the terminal or the Markdown it is shown in.
final class HostileInputTests: XCTestCase {
    var databaseName = ""

    override func setUpWithError() throws {
        databaseName = TestServer.uniqueDatabaseName("hostile")
    }

    override func tearDownWithError() throws {
        try TestServer.client().database(databaseName).drop()
    }

    func testSecretURIOptionsAppearInNoOutputReportOrStatus() throws {
        try SampleDatabase(recordingCount: 100).create(in: try TestServer.client().database(databaseName))
        let secrets = ["T0kenAWS", "K3yVal", "S3cretPw"]
        let base = try TestServer.uri()
        let uri = base + (base.contains("?") ? "&" : "/?") + "appName=hostile&authMechanismProperties=SERVICE_NAME:T0kenAWS&myApiKey=K3yVal&mySecret=S3cretPw"
        let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("leak-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let binary = try mongoAuditBinary()
        var outputs: [String] = []
        for format in ["text", "json", "markdown", "junit"] {
            let result = try runProcess(
                binary, ["audit", "--verbose", "--uri", uri, "--database", databaseName, "--spec", spec, "--format", format, "--output", output.path])
            XCTAssertEqual(result.status, 1, result.stderr)
            outputs += [result.stdout, result.stderr, try String(contentsOf: output, encoding: .utf8)]
        }
        let status = try runProcess(binary, ["migrate", "status", "--uri", uri, "--database", databaseName])
        outputs += [status.stdout, status.stderr]
        XCTAssertTrue(status.stdout.contains("myApiKey=*****"), status.stdout)
        for text in outputs {
            for secret in secrets { XCTAssertFalse(text.contains(secret), "\(secret) in:\n\(text)") }
        }
    }

    /// An `_id` holding a newline and terminal escapes (OSC title, colour) cannot forge a line of the report
    /// or reach the terminal, with or without colour, nor open HTML in the Markdown.
    func testHostileValuesAreEscapedInTextAndMarkdown() throws {
        let client = try TestServer.client()
        let hostileID = "x\n  ✓ recordings: all good\u{1B}]0;pwned\u{07}\u{1B}[31m<img src=x onerror=alert(1)>"
        try client.database(databaseName).runCommand([
            "insert": "recordings", "documents": [["_id": .string(hostileID), "channels": ["min": 0]], ["_id": "ok", "channels": ["min": 1]]],
        ])
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID()).yml")
        defer { try? FileManager.default.removeItem(at: spec) }
        try "version: 1\nchecks:\n  - check: value_rules\n    collection: recordings\n    rules: [{field: channels.min, min: 1}]\n"
            .write(to: spec, atomically: true, encoding: .utf8)
        for (format, colour) in [("text", "never"), ("text", "always"), ("markdown", "never")] {
            let result = try runProcess(
                try mongoAuditBinary(),
                ["audit", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec.path, "--format", format, "--color", colour])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertFalse(result.stdout.contains("\u{1B}]"), "no OSC sequence from the data (\(format), \(colour))")
            XCTAssertFalse(result.stdout.contains("\u{07}"), "no BEL from the data")
            XCTAssertFalse(result.stdout.contains("\n  ✓ recordings: all good"), "no forged line (\(format)):\n\(result.stdout)")
            XCTAssertTrue(result.stdout.contains("all good"), "the value is shown, escaped")
            if format == "markdown" {
                XCTAssertEqual(
                    result.stdout.components(separatedBy: "<img").count, result.stdout.components(separatedBy: "\\<img").count,
                    "HTML is escaped: \(result.stdout)")
            }
        }
    }

    /// Files the gate reads back (baselines, reports for `diff`) come from anywhere: malformed, deeply
    /// nested, wrongly typed or not files at all, each is refused with exit 2 before any audit, no trap.
    func testMalformedBaselinesAndReportsExitTwo() throws {
        let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path
        let malformed = try temporaryFile("not json {", name: "bad.json")
        let deep = try temporaryFile(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), name: "deep.json")
        let wrongType = try temporaryFile(#"{"schema":"mongo-audit/baseline","findings":[{"id":5}]}"#, name: "typed.json")
        let binary = try mongoAuditBinary()
        for file in [malformed.path, deep.path, wrongType.path, FileManager.default.temporaryDirectory.path] {
            let result = try runProcess(
                binary, ["audit", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec, "--baseline", file])
            XCTAssertEqual(result.status, 2, "\(file): \(result.stdout)\(result.stderr)")
            XCTAssertEqual(result.stdout, "", "refused before the audit")
            XCTAssertTrue(result.stderr.hasPrefix("mongo-audit: "), result.stderr)
        }
        let diff = try runProcess(binary, ["diff", malformed.path, deep.path])
        XCTAssertEqual(diff.status, 2, diff.stderr)
        for tolerance in ["inf", "nan", "1e308"] {
            let result = try runProcess(binary, ["audit", "--spec", spec, "--tolerance", tolerance])
            XCTAssertEqual(result.status, 2, "--tolerance \(tolerance): \(result.stderr)")
        }
    }
}
