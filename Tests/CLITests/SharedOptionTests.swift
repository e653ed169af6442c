import Foundation
import MongoKit
import TestSupport
import XCTest

/// The options every reading command shares, through the built binary: one `--max-time-ms` (same default
/// and meaning in audit, profile and init), `--read-preference` in profile and init too, and a history
/// connection string whose secrets no message prints.
final class SharedOptionTests: XCTestCase {
    var databaseName = ""
    var client: MongoClient!

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("options")
        try client.database(databaseName).collection("c").insertMany((0..<20).map { ["a": .string("v\($0 % 3)"), "n": .int32(Int32($0))] })
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(try mongoAuditBinary(), arguments)
    }

    /// `--history` naming the audited database (or written with an unescaped `@`) is refused before the
    /// audit, and the message shows the connection string redacted: password as written or percent-encoded,
    /// and secrets held in query options.
    func testHistoryConnectionStringsAreRedactedInMessages() throws {
        let spec = try temporaryFile(
            "version: 1\nchecks:\n  - check: field_completeness\n    collection: c\n    fields:\n      a: {types: [string]}\n", name: "spec.yml")
        let cases: [(history: String, secrets: [String], message: String)] = [
            ("mongodb://ops:Hx7q@S3cr3tq@127.0.0.1:9/\(databaseName)", ["Hx7q", "S3cr3tq"], "percent-encode"),
            ("mongodb://ops:Hx7q%40S3cr3tq@127.0.0.1:9/\(databaseName)", ["Hx7q", "S3cr3tq"], "the audited database"),
            ("mongodb://ops:Hx7q?S3cr3tq@127.0.0.1:9/\(databaseName).runs", ["Hx7q", "S3cr3tq"], "the audited database"),
            (
                "mongodb://127.0.0.1:9/\(databaseName)?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:T0kXyzq", ["T0kXyzq"],
                "the audited database"
            ),
            ("mongodb://127.0.0.1:9/\(databaseName)?tls=true&tlsCertificateKeyFilePassword=Pw0rdXyzq", ["Pw0rdXyzq"], "the audited database"),
        ]
        for (history, secrets, message) in cases {
            let result = try run([
                "audit", "--uri", try TestServer.uri(), "--database", databaseName, "--spec", spec.path, "--history", history,
            ])
            XCTAssertEqual(result.status, 2, "\(history): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(history): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("*****"), "\(history): \(result.stderr)")
            for secret in secrets { XCTAssertFalse((result.stdout + result.stderr).contains(secret), "\(secret) printed: \(result.stderr)") }
        }
    }

    func testProfileAndInitTakeReadPreferenceAndTimeLimit() throws {
        let common = ["--uri", try TestServer.uri(), "--database", databaseName, "--read-preference", "nearest", "--max-time-ms", "30000"]
        let profile = try run(["profile"] + common + ["--format", "json"])
        XCTAssertEqual(profile.status, 0, profile.stderr)
        XCTAssertTrue(profile.stdout.contains("\"c\""), profile.stdout)
        let initialised = try run(["init"] + common)
        XCTAssertEqual(initialised.status, 0, initialised.stderr)
        XCTAssertTrue(initialised.stdout.contains("collections: [\"c\"]"), initialised.stdout)
        for command in ["profile", "init", "audit", "baseline"] {
            let wrong = try run([command, "--read-preference", "sideways"])
            XCTAssertEqual(wrong.status, 2, "\(command): \(wrong.stderr)")
            XCTAssertTrue(wrong.stderr.contains("sideways"), "\(command): \(wrong.stderr)")
            let help = try run([command, "--help"])
            XCTAssertTrue(help.stdout.contains("--max-time-ms"), "\(command) --help")
            XCTAssertTrue(help.stdout.contains("--read-preference"), "\(command) --help")
        }
    }

    /// profile and init put the same default time limit as audit on every operation: on a server that
    /// fails every operation carrying one (a failpoint), they stop with the time-out's exit code, where
    /// before they sent none and ran on.
    func testProfileAndInitBoundEveryOperationByDefault() throws {
        let (server, own) = try launchedServer()
        try own.database(databaseName).collection("c").insertMany([["a": "x"]])
        try own.database("admin").runCommand(["configureFailPoint": "maxTimeAlwaysTimeOut", "mode": "alwaysOn"])
        for command in ["profile", "init", "audit"] {
            var arguments = [command, "--uri", server.uri, "--database", databaseName]
            if command == "audit" {
                let spec = try temporaryFile(
                    "version: 1\nchecks:\n  - check: field_completeness\n    collection: c\n    fields:\n      a: {types: [string]}\n", name: "spec.yml")
                arguments += ["--spec", spec.path]
            }
            let result = try run(arguments)
            XCTAssertEqual(result.status, 5, "\(command): \(result.stdout) \(result.stderr)")
        }
        try own.database("admin").runCommand(["configureFailPoint": "maxTimeAlwaysTimeOut", "mode": "off"])
        XCTAssertEqual(try run(["profile", "--uri", server.uri, "--database", databaseName]).status, 0)
    }
}
