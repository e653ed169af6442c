import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// `mongo-audit migrate ...` run as a user would: the audit-to-migration flow, concurrent runners, bad files.
final class MigrateCommandTests: XCTestCase {
    var databaseName = ""
    var client: MongoClient!
    var directory: URL!
    let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("migcli")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func run(_ arguments: [String], database: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(
            try mongoAuditBinary(),
            arguments + ["--uri", try TestServer.uri(), "--database", database ?? databaseName, "--dir", directory.path])
    }

    func migrate(_ arguments: String..., database: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(["migrate"] + arguments, database: database)
    }

    func indexNames(_ database: String? = nil) throws -> Set<String> {
        Set(try client.database(database ?? databaseName).collection("recordings").listIndexes().map(\.name))
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func testAuditEmitPlanApplyStatusAuditDown() throws {
        try SampleDatabase(recordingCount: 2_000).create(in: client.database(databaseName))
        let before = try indexNames()
        let missing = ["end_time", "uuid", "deleted"].map { "recordings: required index {\($0): 1} is missing" }
        let audit = try runProcess(try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--spec", spec, "--database", databaseName])
        XCTAssertEqual(audit.status, 1)
        missing.forEach { XCTAssertTrue(audit.stdout.contains($0), audit.stdout) }

        let emit = try run(["migrate", "emit", "--spec", spec])
        XCTAssertEqual(emit.status, 0, emit.stderr)
        let file = directory.appendingPathComponent("0001_create_critical_indexes.yml")
        XCTAssertTrue(emit.stdout.contains("wrote \(file.path): creates end_time_1, uuid_1, deleted_1 on recordings"), emit.stdout)
        let emitted = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(emitted.contains("- {keys: {end_time: 1}}") && emitted.contains("- {keys: {uuid: 1}}"), emitted)

        let plan = try migrate("plan")
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(
            plan.stdout.contains(
                "db.getSiblingDB(\"\(databaseName)\").runCommand({ \"createIndexes\" : \"recordings\", \"indexes\" : [ { \"key\" : { \"end_time\" : 1 }, \"name\" : \"end_time_1\" }, { \"key\" : { \"uuid\" : 1 }, \"name\" : \"uuid_1\" }, { \"key\" : { \"deleted\" : 1 }, \"name\" : \"deleted_1\" } ] })"
            ),
            plan.stdout)
        XCTAssertTrue(plan.stdout.contains("recordings: create indexes end_time_1 {end_time: 1}; uuid_1 {uuid: 1}; deleted_1 {deleted: 1}"), plan.stdout)
        XCTAssertEqual(try indexNames(), before, "plan changes nothing")

        let apply = try migrate("apply")
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)
        XCTAssertTrue(apply.stdout.contains("recordings: created end_time_1, uuid_1, deleted_1"), apply.stdout)
        XCTAssertFalse(apply.stderr.contains("\r"), "no progress output when stderr is not a terminal")
        XCTAssertEqual(try indexNames(), before.union(["end_time_1", "uuid_1", "deleted_1"]))

        let audited = try runProcess(try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--spec", spec, "--database", databaseName])
        missing.forEach { XCTAssertFalse(audited.stdout.contains($0), audited.stdout) }

        let status = try migrate("status")
        XCTAssertEqual(status.status, 0)
        XCTAssertTrue(status.stdout.contains("1      applied      create_critical_indexes  (applied "), status.stdout)
        XCTAssertTrue(try migrate("apply").stdout.contains("nothing to apply"))

        let down = try migrate("down")
        XCTAssertEqual(down.status, 0, down.stderr)
        XCTAssertEqual(try indexNames(), before, "down removes exactly the migration's indexes")
        XCTAssertTrue(try migrate("status").stdout.contains("1      pending      create_critical_indexes"))
    }

    func testTwoApplyProcessesAtTheSameMomentApplyEachMigrationOnce() throws {
        try write("0001_critical.yml", "up:\n  - create_indexes:\n      collection: recordings\n      indexes: [{keys: {end_time: 1}}, {keys: {uuid: 1}}]\n")
        try write("0002_hide.yml", "up:\n  - hide_index: {collection: recordings, name: uuid_1}\n")
        for round in 0..<12 {
            let database = "\(databaseName)_\(round)"
            defer { try? client.database(database).drop() }
            try client.database(database).collection("recordings").insertMany((0..<200).map { ["end_time": .int32(Int32($0)), "uuid": .string("u\($0)")] })
            let waits = round % 3 != 0  // every third round the loser stops at once instead of waiting
            let results = OutputBox()
            let binary = try mongoAuditBinary()
            let arguments =
                ["migrate", "apply"] + (waits ? ["--wait", "60"] : [])
                + ["--uri", try TestServer.uri(), "--database", database, "--dir", directory.path]
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                results.append(Result { try runProcess(binary, arguments) })
            }
            let outputs = try results.values.map { try $0.get() }
            let stdout = outputs.map(\.stdout).joined()
            for version in 1...2 {
                XCTAssertEqual(stdout.components(separatedBy: "applying migration \(version) ").count - 1, 1, "round \(round): \(outputs)")
            }
            if waits {
                XCTAssertEqual(outputs.map(\.status), [0, 0], "round \(round): \(outputs)")
            } else {
                XCTAssertTrue(outputs.contains { $0.status == 0 && $0.stdout.contains("applied migration 2") }, "\(outputs)")
                for loser in outputs where loser.status != 0 {
                    XCTAssertEqual(loser.status, 6)
                    XCTAssertTrue(loser.stderr.contains("another runner holds the migration lock:"), loser.stderr)
                    XCTAssertTrue(loser.stderr.contains("pass --wait SECONDS to wait for it"), loser.stderr)
                }
            }
            let records = try client.database(database).collection("mongo_audit_migrations").find { try $0.all() }
            XCTAssertEqual(records.compactMap { $0["_id"]?.intValue }, [1, 2])
            XCTAssertEqual(Set(records.compactMap { $0["state"]?.stringValue }), ["applied"])
        }
    }

    func testMalformedFilesExitTwoNamingFileAndLineAndApplyNothing() throws {
        try SampleDatabase(recordingCount: 200).create(in: client.database(databaseName))
        let before = try indexNames()
        try write("0001_good.yml", "up:\n  - create_indexes: {collection: recordings, indexes: [{keys: {end_time: 1}}]}\n")
        let cases: [(String, String, String)] = [
            ("0002_syntax.yml", "up:\n  - create_indexes: {collection: recordings\n", "0002_syntax.yml:3:1: invalid YAML"),
            ("0002_unknown.yml", "up:\n  - create_index: {collection: recordings}\n", "0002_unknown.yml:2:5: up[0].create_index: unknown field"),
            (
                "0002_noreverse.yml", "up:\n  - drop_index: {collection: recordings, name: start_time_1}\n",
                "0002_noreverse.yml:2: up: drop_index cannot be reversed by itself"
            ),
            ("2_duplicate.yml", "up:\n  - hide_index: {collection: recordings, name: start_time_1}\n", "version 2 is also the version of"),
            (
                "two_nonnumeric.yml", "up:\n  - hide_index: {collection: recordings, name: start_time_1}\n",
                "two_nonnumeric.yml: the file name must be a version number"
            ),
        ]
        try write("0002_ok.yml", "up:\n  - hide_index: {collection: recordings, name: start_time_1}\n")
        for (name, text, message) in cases {
            let isDuplicate = name == "2_duplicate.yml"
            if !isDuplicate { try FileManager.default.removeItem(at: directory.appendingPathComponent("0002_ok.yml")) }
            try write(name, text)
            for command in ["apply", "plan", "status"] {
                let result = try migrate(command)
                XCTAssertEqual(result.status, 2, "\(name) \(command): \(result)")
                XCTAssertTrue(result.stderr.contains(message), "\(name): \(result.stderr)")
            }
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            if !isDuplicate { try write("0002_ok.yml", "up:\n  - hide_index: {collection: recordings, name: start_time_1}\n") }
        }
        XCTAssertEqual(try indexNames(), before, "nothing applied")
        XCTAssertFalse(try client.database(databaseName).listCollections().contains { $0.name == "mongo_audit_migrations" })
    }

    func testNewResolveAndStatusExitCodes() throws {
        try SampleDatabase(recordingCount: 200).create(in: client.database(databaseName))
        try write("0001_critical.yml", "up:\n  - create_indexes: {collection: recordings, indexes: [{keys: {end_time: 1}}]}\n")
        let created = try runProcess(try mongoAuditBinary(), ["migrate", "new", "Hide legacy index", "--dir", directory.path])
        XCTAssertEqual(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines), directory.appendingPathComponent("0002_hide_legacy_index.yml").path)
        XCTAssertEqual(try migrate("apply").status, 2, "the skeleton needs an operation before anything runs")
        try write("0002_hide_legacy_index.yml", "up:\n  - hide_index: {collection: recordings, name: end_time_1}\n")
        XCTAssertEqual(try migrate("apply").status, 0)

        try write("0001_critical.yml", "up:\n  - create_indexes: {collection: recordings, indexes: [{keys: {end_time: 1}}]}\n# edited\n")
        let status = try migrate("status")
        XCTAssertEqual(status.status, 1)
        XCTAssertTrue(status.stdout.contains("1      changed"), status.stdout)
        let blocked = try migrate("down", "--to", "0")
        XCTAssertEqual(blocked.status, 6)
        XCTAssertTrue(blocked.stderr.contains("changed since migration 1 was applied"), blocked.stderr)
        XCTAssertTrue(blocked.stderr.contains("accept it with `mongo-audit migrate resolve 1`"), blocked.stderr)
        XCTAssertEqual(try migrate("resolve", "1").status, 0)
        XCTAssertEqual(try migrate("down", "--to", "0").status, 0)
        XCTAssertEqual(try indexNames(), ["_id_", "start_time_1", "site_1_start_time_-1"])
    }
}

/// Collects the results of concurrent runs.
final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<(status: Int32, stdout: String, stderr: String), Error>] = []
    func append(_ item: Result<(status: Int32, stdout: String, stderr: String), Error>) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }
    var values: [Result<(status: Int32, stdout: String, stderr: String), Error>] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
