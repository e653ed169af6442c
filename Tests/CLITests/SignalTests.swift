import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// SIGINT and SIGTERM stop a command cleanly: a migration's lock is given up at once (not left for its
/// time to live) and the migration keeps its record so the next apply resumes it; an audit writes the
/// report of what it did with the rest marked interrupted. Exit 128 + the signal.
final class SignalTests: XCTestCase {
    /// 100 recordings in `database`, and a migration directory whose one migration indexes their uuid.
    func uuidIndexMigration(on database: MongoDatabase) throws -> URL {
        try database.collection("recordings").insertMany((0..<100).map { ["uuid": .string("u\($0)")] })
        return try temporaryFile("up:\n  - create_indexes: {collection: recordings, indexes: [{keys: {uuid: 1}}]}\n", name: "migrations/0001_uuid.yml")
            .deletingLastPathComponent()
    }

    func testSIGTERMDuringAnIndexBuildReleasesTheLockAndTheNextApplyResumes() throws {
        let (server, client) = try launchedServer()
        let database = client.database("signals")
        let directory = try uuidIndexMigration(on: database)
        // The build hangs on the server once started, as a long build on a large collection would.
        try client.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "alwaysOn"])
        let arguments = ["migrate", "apply", "--uri", server.uri, "--database", "signals", "--dir", directory.path, "--lock-ttl", "600"]
        let apply = try RunningProcess(try mongoAuditBinary(), arguments)
        let lock = database.collection("mongo_audit_lock")
        var held = false
        for _ in 0..<600 where !held {
            held = try lock.countDocuments() == 1
            if !held { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(held, "the runner took the lock")
        Thread.sleep(forTimeInterval: 0.5)  // into the hanging build; the outcome is the same if the signal comes earlier
        apply.signal(SIGTERM)
        let stopped = try apply.wait()
        XCTAssertEqual(stopped.status, 143, stopped.stdout + stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("released the migration lock"), stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("applying migration 1"), "output before the signal is flushed: \(stopped.stdout)")
        XCTAssertEqual(try lock.countDocuments(), 0, "the lock is released, not left for its 600 s time to live")

        try client.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "off"])
        let resumed = try runProcess(try mongoAuditBinary(), arguments)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming migration 1"), resumed.stdout)
        XCTAssertTrue(try database.collection("recordings").listIndexes().contains { $0.name == "uuid_1" })
    }

    func testSIGINTDuringAnAuditWritesThePartialReport() throws {
        let (server, client) = try launchedServer()
        try SampleDatabase(recordingCount: 200).create(in: client.database("sample"))
        // Scans wait on the server, so the signal arrives while the audit is under way.
        try client.blockFinds(for: 2_000)
        let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path
        let audit = try RunningProcess(try mongoAuditBinary(), ["audit", "--spec", spec, "--uri", server.uri, "--format", "json"])
        Thread.sleep(forTimeInterval: 1)
        audit.signal(SIGINT)
        let stopped = try audit.wait()
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stopped.stdout.utf8)) as? [String: Any], stopped.stdout)
        let causes = (report["checks"] as? [[String: Any]] ?? []).compactMap { $0["notRunCause"] as? String }
        XCTAssertTrue(causes.contains("interrupted"), "\(causes)")
    }

    /// An index build that outlasts the socket timeout is waited for, not abandoned: the step is retried,
    /// finds the build in progress on the server and polls until it is done.
    func testABuildLongerThanTheSocketTimeoutIsWaitedFor() throws {
        let (server, client) = try launchedServer()
        let database = client.database("slowbuild")
        let directory = try uuidIndexMigration(on: database)
        try client.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "alwaysOn"])
        let apply = try RunningProcess(
            try mongoAuditBinary(),
            ["migrate", "apply", "--uri", server.uri, "--database", "slowbuild", "--dir", directory.path, "--socket-timeout-ms", "1000"])
        // Let the build hang past two socket timeouts, then let it finish.
        Thread.sleep(forTimeInterval: 3)
        try client.database("admin").runCommand(["configureFailPoint": "hangAfterStartingIndexBuild", "mode": "off"])
        let result = try apply.wait()
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("retrying"), "the reply wait was bounded: \(result.stdout)")
        XCTAssertTrue(try database.collection("recordings").listIndexes().contains { $0.name == "uuid_1" })
    }

    /// A server that dies during the audit: the check it was serving and the ones after it are not run
    /// (not tried, rather than each waiting out server selection), the report is written, and the exit
    /// code says unreachable.
    func testAServerKilledDuringTheAuditExitsUnreachableWithTheReport() throws {
        let (server, client) = try launchedServer()
        try SampleDatabase(recordingCount: 200).create(in: client.database("sample"))
        try client.blockFinds(for: 3_000)
        let spec = try temporaryFile(
            "version: 1\nchecks:\n  - check: unique_values\n    collection: recordings\n    field: uuid\n  - check: index_hygiene\n    collection: recordings\n",
            name: "killed.yml")
        let audit = try RunningProcess(
            try mongoAuditBinary(),
            ["audit", "--spec", spec.path, "--uri", server.uri, "--database", "sample", "--server-selection-timeout-ms", "2000"])
        Thread.sleep(forTimeInterval: 1)  // the find waits on the failpoint
        try server.kill()
        let result = try audit.wait()
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("NOT RUN: unique_values on recordings: server unreachable"), result.stdout)
        XCTAssertTrue(result.stdout.contains("NOT RUN: index_hygiene on recordings: not tried"), result.stdout)
    }
}
