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
            let result = try runProcess(binary, ["audit", "--verbose", "--uri", uri, "--database", databaseName, "--spec", spec, "--format", format, "--output", output.path])
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
                XCTAssertEqual(result.stdout.components(separatedBy: "<img").count, result.stdout.components(separatedBy: "\\<img").count, "HTML is escaped: \(result.stdout)")
            }
        }
    }
}
