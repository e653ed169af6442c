import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// Runs the built `mongo-audit` binary as a user would and checks its output and exit code.
final class AuditCommandTests: XCTestCase {
    var databaseName = ""
    var client: MongoClient!
    /// The index part of the shipped spec, so that the with/without-indexes cases differ only in indexes.
    var spec = ""
    let fullSpec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("cli")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("indexes-\(UUID()).yml")
        try """
        version: 1
        checks:
          - check: required_collections
            collections: [recordings, metadata]
          - check: critical_indexes
            collection: recordings
            indexes: [{keys: {start_time: 1}}, {keys: {end_time: 1}}, {keys: {uuid: 1}}, {keys: {deleted: 1}}]
          - check: critical_indexes
            collection: metadata
            indexes: [{keys: {recording_uuid: 1}}]
        """.write(to: url, atomically: true, encoding: .utf8)
        spec = url.path
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
    }

    func audit(_ arguments: [String], uri: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(try mongoAuditBinary(), ["audit", "--uri", uri ?? TestServer.uri(), "--spec", spec] + arguments)
    }

    func testAuditOfTheSampleReportsTheMissingCriticalIndexes() throws {
        try SampleDatabase(recordingCount: 2_000).create(in: client.database(databaseName))
        let result = try audit(["--database", databaseName])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        for field in ["end_time", "uuid", "deleted"] {
            XCTAssertTrue(result.stdout.contains("recordings: required index {\(field): 1} is missing"), result.stdout)
        }
        XCTAssertFalse(result.stdout.contains("{start_time: 1} is missing"), "start_time_1 exists")
        XCTAssertTrue(result.stdout.contains("HIGH (3)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fix: db.getSiblingDB(\"\(databaseName)\").runCommand({ \"createIndexes\" : \"recordings\""))
        XCTAssertTrue(result.stdout.contains("Result: FAILED, 3 finding(s) at or above high"), result.stdout)
        XCTAssertFalse(result.stdout.contains("\u{1B}["), "no colour codes when stdout is not a terminal")

        // The gate moves with --fail-on.
        XCTAssertEqual(try audit(["--database", databaseName, "--fail-on", "critical"]).status, 0)
    }

    func testAuditPassesWhenTheIndexesExist() throws {
        try SampleDatabase(recordingCount: 2_000, withAllCriticalIndexes: true).create(in: client.database(databaseName))
        let result = try audit(["--database", databaseName])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("Checks: 3 passed, 0 failed, 0 not run"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Result: PASSED"), result.stdout)
    }

    func testFullSpecAuditShowsEveryCheckAndTheGateInEveryFormat() throws {
        try SampleDatabase(recordingCount: 3_000).create(in: client.database(databaseName))
        let text = try runProcess(
            try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName])
        XCTAssertEqual(text.status, 1, text.stderr)
        for expected in [
            "HIGH (", "MEDIUM (", "INFO (", "live and", "end before they start", "value(s) of 'channels.min' break the rule",
            "value(s) of 'uuid' are shared", "reference a recordings.uuid that does not exist", "query 'by uuid' scans the whole collection",
            "Checks: ", "Result: FAILED",
        ] {
            XCTAssertTrue(text.stdout.contains(expected), "missing \(expected) in:\n\(text.stdout)")
        }
        XCTAssertEqual(text.stderr, "", "no progress bar when stderr is not a terminal")
        for format in ["junit", "markdown"] {
            let result = try runProcess(
                try mongoAuditBinary(),
                ["audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName, "--format", format])
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.stdout.contains(format == "junit" ? "<testsuites name=\"mongo-audit\"" : "## ❌ mongo-audit"), result.stdout)
        }
        let sampled = try runProcess(
            try mongoAuditBinary(),
            ["audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName, "--sample", "500"])
        XCTAssertTrue(sampled.stdout.contains("estimates from random samples: recordings (500 of 3000 documents)"), sampled.stdout)
        XCTAssertTrue(sampled.stdout.contains("95% CI"), sampled.stdout)
    }

    /// A sampled audit scans two collections at once unless told otherwise, and the plan says how many.
    func testASampledAuditScansTwoCollectionsAtOnce() throws {
        try SampleDatabase(recordingCount: 500).create(in: client.database(databaseName))
        for (arguments, expected) in [([], 1), (["--sample", "100"], 2), (["--sample", "100", "--parallel", "1"], 1), (["--parallel", "3"], 3)] {
            let result = try runProcess(
                try mongoAuditBinary(),
                ["audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName, "--plan", "--format", "json"] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(plan["scansAtOnce"] as? Int, expected, "\(arguments)")
        }
        let text = try runProcess(
            try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName, "--plan", "--sample", "100"])
        XCTAssertTrue(text.stdout.contains("one after another (up to 2 run at once)"), text.stdout)
    }

    /// On a terminal the scan draws its progress line on stderr: `script` gives the binary a real pty.
    func testProgressLineOnATerminal() throws {
        try SampleDatabase(recordingCount: 2_000).create(in: client.database(databaseName))
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("tty-\(UUID()).txt")
        defer { try? FileManager.default.removeItem(at: report) }
        let command = [
            try mongoAuditBinary(), "audit", "--uri", try TestServer.uri(), "--spec", fullSpec, "--database", databaseName,
            "--output", report.path,
        ].map { "'\($0)'" }.joined(separator: " ")
        let result = try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        // metadata's pass comes first (it holds the references, fewer than the recordings), then recordings'.
        let progress = result.stdout.split(separator: "\r").last { $0.hasPrefix("recordings ") && $0.contains("docs/s") }.map(String.init) ?? ""
        XCTAssertTrue(result.stdout.split(separator: "\r").last { $0.contains("docs/s") }?.hasPrefix("recordings ") == true, result.stdout)
        XCTAssertTrue(result.stdout.split(separator: "\r").first { $0.contains("docs/s") }?.contains("metadata ") == true, result.stdout)
        XCTAssertTrue(progress.contains("100%  2000/2000 docs"), progress)
        XCTAssertTrue(progress.contains("s left"), progress)
        XCTAssertTrue(try String(contentsOf: report, encoding: .utf8).contains("Result: FAILED"))
    }

    func testJSONReportIsVersionedAndMachineReadable() throws {
        try SampleDatabase(recordingCount: 1_000).create(in: client.database(databaseName))
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try audit(["--database", databaseName, "--format", "json", "--output", output.path])
        XCTAssertEqual(result.status, 1)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["schema"] as? String, "mongo-audit/report")
        XCTAssertEqual(json["schemaVersion"] as? Int, 2)
        XCTAssertEqual(json["database"] as? String, databaseName)
        XCTAssertEqual(json["outcome"] as? String, "failed")
        XCTAssertEqual((json["specSHA256"] as? String)?.count, 64)
        let checks = try XCTUnwrap(json["checks"] as? [[String: Any]])
        let findings = checks.flatMap { ($0["findings"] as? [[String: Any]]) ?? [] }
        XCTAssertEqual(findings.count, 3)
        XCTAssertEqual(Set(findings.compactMap { $0["severity"] as? String }), ["high"])
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), result.stdout, "--output writes the same report")
    }

    func testInvalidSpecNamesFileLineAndFieldWithExitTwo() throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).yml")
        defer { try? FileManager.default.removeItem(at: bad) }
        try "version: 1\nchecks:\n  - check: critical_indexes\n    collection: recordings\n    indexes:\n      - keys: {uuid: 1}\n        uniqe: true\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let result = try runProcess(try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--spec", bad.path, "--database", databaseName])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("\(bad.path):7:9: checks[0].indexes[0].uniqe: unknown field"), result.stderr)
        let usage = try runProcess(try mongoAuditBinary(), ["audit", "--format", "xml"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("The value 'xml' is invalid for '--format <format>'"), usage.stderr)
        // Numbers are checked against their real range before anything connects: no trap on inf or huge values.
        for (arguments, message) in [
            (["migrate", "apply", "--lock-ttl", "inf"], "--lock-ttl must be between"),
            (["migrate", "apply", "--wait", "nan"], "--wait must be between"),
            (["audit", "--max-time-ms", "99999999999"], "--max-time-ms must be between"),
            (["audit", "--sample", "0"], "--sample must be between"),
            (["audit", "--parallel", "0"], "--parallel must be between"),
            (["audit", "--sample", "100", "--parallel", "65"], "--parallel must be between"),
            (["audit", "--max-documents", "0"], "--max-documents must be between"),
            (["audit", "--budget", "nan"], "--budget must be between"),
            (["audit", "--server-selection-timeout-ms", "0"], "--server-selection-timeout-ms must be between"),
            (["sample", "--count", "0"], "--count must be between"),
            (["profile", "--max-paths", "0"], "--max-paths must be between"),
            (["profile", "--max-paths", "100001"], "--max-paths must be between"),
            (["profile", "--sample", "0"], "--sample must be between"),
            (["init", "--sample=-1"], "--sample must be between"),
            (["init", "--max-time-ms=-1"], "--max-time-ms must be between"),
            (["profile", "--max-time-ms", "99999999999"], "--max-time-ms must be between"),
        ] {
            let result = try runProcess(try mongoAuditBinary(), arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    func testUnreachableServerExitsThreeWithoutThePassword() throws {
        let result = try audit(["--database", "x", "--server-selection-timeout-ms", "300"], uri: "mongodb://ops:T0pS3cret@127.0.0.1:9/")
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(result.stderr.contains("server unreachable"), result.stderr)
        XCTAssertFalse((result.stdout + result.stderr).contains("T0pS3cret"))
    }

    func testHelpReadsWell() throws {
        let help = try runProcess(try mongoAuditBinary(), ["--help"])
        XCTAssertEqual(help.status, 0)
        for text in ["audit", "checks", "sample", "Exit codes:", "3  server unreachable", "4  authentication failed"] {
            XCTAssertTrue(help.stdout.contains(text), "--help lacks \(text):\n\(help.stdout)")
        }
        let auditHelp = try runProcess(try mongoAuditBinary(), ["audit", "--help"])
        XCTAssertTrue(auditHelp.stdout.contains("--fail-on"), auditHelp.stdout)
        let checks = try runProcess(try mongoAuditBinary(), ["checks"])
        XCTAssertTrue(checks.stdout.contains("critical_indexes") && checks.stdout.contains("required_collections"))
    }
}

/// Exit codes that need a server of the test's own: `--auth` users and a failpoint.
final class AuditServerFailureTests: XCTestCase {
    func testAuthenticationReadOnlyUserAndCommandErrors() throws {
        let server = try LaunchedMongod(arguments: ["--auth"])
        defer { server.stop() }
        let adminPassword = "Adm1n-Pa55"
        try server.client().database("admin").runCommand(["createUser": "admin", "pwd": .string(adminPassword), "roles": ["root"]])
        let admin = try server.client(user: "admin", password: adminPassword)
        try SampleDatabase(recordingCount: 1_000).create(in: admin.database("sample"))
        let readerPassword = "R3ader-Pa55"
        try admin.database("admin").runCommand([
            "createUser": "reader", "pwd": .string(readerPassword), "roles": [["role": "read", "db": "sample"]],
        ])
        let binary = try mongoAuditBinary()
        let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path

        // A wrong password: exit 4, and neither password appears anywhere.
        let wrong = try runProcess(binary, ["audit", "--spec", spec, "--uri", server.uri(user: "reader", password: "Wr0ng-Pa55")])
        XCTAssertEqual(wrong.status, 4, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("authentication failed"), wrong.stderr)
        XCTAssertFalse((wrong.stdout + wrong.stderr).contains("Wr0ng-Pa55"))

        // A user with only the read role audits fine: the audit needs no write privilege.
        let readOnly = try runProcess(binary, ["audit", "--spec", spec, "--uri", server.uri(user: "reader", password: readerPassword)])
        XCTAssertEqual(readOnly.status, 1, readOnly.stdout + readOnly.stderr)
        XCTAssertTrue(readOnly.stdout.contains("required index {uuid: 1} is missing"))
        XCTAssertFalse((readOnly.stdout + readOnly.stderr).contains(readerPassword))

        // The same user on a database it may not read: the server refuses the command, exit 6.
        let refused = try runProcess(
            binary, ["audit", "--spec", spec, "--database", "other", "--uri", server.uri(user: "reader", password: readerPassword)])
        XCTAssertEqual(refused.status, 6, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stdout.contains("NOT RUN") && refused.stdout.contains("Unauthorized"), refused.stdout)
    }

    /// A server that stops answering (a blocked connection, as a frozen or overloaded server) is given up on
    /// after the operation's limit plus a margin; that check is not run and the rest of the audit reports.
    func testAServerThatStopsAnsweringIsGivenUpOnWithinTheLimit() throws {
        let (server, client) = try launchedServer()
        try SampleDatabase(recordingCount: 200).create(in: client.database("sample"))
        try client.blockFinds(for: 120_000)
        let spec = try temporaryFile(
            "version: 1\nchecks:\n  - check: required_collections\n    collections: [recordings]\n  - check: unique_values\n    collection: recordings\n    field: uuid\n",
            name: "frozen.yml")
        // `timeout` only catches a hang (the blocked find would hold a five-minute socket timeout); it is no
        // measure of speed.
        let result = try runProcess(
            "/usr/bin/timeout",
            ["100", try mongoAuditBinary(), "audit", "--spec", spec.path, "--uri", server.uri, "--database", "sample", "--max-time-ms", "1000"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("NOT RUN: unique_values on recordings: timed out"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Checks: 1 passed, 0 failed, 1 not run"), result.stdout)
    }

    func testExpiredMaxTimeMSExitsFive() throws {
        let server = try LaunchedMongod()
        defer { server.stop() }
        let client = try server.client()
        try SampleDatabase(recordingCount: 500).create(in: client.database("sample"))
        // A server failpoint (test commands are enabled on servers the tests start) makes every operation
        // that carries maxTimeMS expire, as a slow server would.
        try client.database("admin").runCommand(["configureFailPoint": "maxTimeAlwaysTimeOut", "mode": "alwaysOn"])
        let result = try runProcess(
            try mongoAuditBinary(),
            ["audit", "--spec", repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path, "--uri", server.uri])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        // Each check that timed out is reported as not run, and the audit still writes its report.
        XCTAssertTrue(result.stdout.contains("NOT RUN: critical_indexes on recordings: timed out"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Result: INCOMPLETE"), result.stdout)
    }
}

/// The README's table of checks is what `mongo-audit checks --format markdown` prints from the registry.
final class ChecksListingTests: XCTestCase {
    func testTheREADMETableIsTheRegistrysListing() throws {
        let listing = try runProcess(try mongoAuditBinary(), ["checks", "--format", "markdown"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains(listing.stdout), "README's check table is stale; paste `mongo-audit checks --format markdown`:\n\(listing.stdout)")
        for identifier in ["required_collections", "critical_indexes", "index_hygiene"] {
            XCTAssertTrue(listing.stdout.contains("| `\(identifier)` |"), identifier)
        }
        let text = try runProcess(try mongoAuditBinary(), ["checks"])
        XCTAssertTrue(text.stdout.contains("time_limit_ms: int."), text.stdout)
    }
}
