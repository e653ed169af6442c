import Foundation
import MongoKit
import TestSupport
import XCTest

/// `mongo-audit init` on a database built here: the spec it writes parses, audits clean, and fails naming
/// the cause once the database drifts. `profile` through the binary, in both formats.
final class InitCommandTests: XCTestCase {
    var databaseName = ""
    var client: MongoClient!
    var directory: URL!

    override func setUpWithError() throws {
        client = try TestServer.client()
        databaseName = TestServer.uniqueDatabaseName("init")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try client?.database(databaseName).drop()
        try? FileManager.default.removeItem(at: directory)
    }

    static func uuid(_ i: Int) -> String { String(format: "%08x-0000-4000-8000-%012x", i * 7919, i) }

    /// recordings (uuids, times, a set of dtypes, numbers, nested channels, arrays, an optional end, a
    /// nullable note) and metadata referring to them, with indexes of several kinds.
    func buildDatabase() throws {
        let database = client.database(databaseName)
        let base = Date(timeIntervalSince1970: 1_750_000_000.123)
        let recordings = (0..<300).map { i -> Document in
            var d: Document = [
                "uuid": .string(Self.uuid(i)), "start_time": .datetime(base.addingTimeInterval(Double(i) * 61.7)),
                "dtype": .string(["float32", "float64", "int16"][i % 3]), "sample_rate": .double(1000 + Double(i % 5) * 250.5),
                "channels": ["min": .int32(Int32(1 + i % 2)), "max": .int64(Int64(64 + i % 7))],
                "tags": .array((0..<(i % 3)).map { .string("t\($0)") }), "deleted": .bool(i % 10 == 0),
            ]
            if i % 5 != 0 { d.append("end_time", .datetime(base.addingTimeInterval(Double(i) * 61.7 + 3600))) }
            d.append("note", i % 4 == 0 ? .null : .string("note \(i)"))
            return d
        }
        try database.collection("recordings").insertMany(recordings)
        let metadata = (0..<200).map { i -> Document in
            // offset_ns: int64 beyond 2^53, where a double cannot hold every value (odd ones round).
            [
                "recording_uuid": .string(Self.uuid(i)), "code": .int32(Int32(i)), "kind": .string(i % 2 == 0 ? "raw" : "derived"),
                "offset_ns": .int64(9_007_199_254_740_993 + Int64(i) * 4),
            ]
        }
        try database.collection("metadata").insertMany(metadata)
        try database.runCommand([
            "createIndexes": "recordings",
            "indexes": [
                ["key": ["start_time": 1], "name": "start_time_1"], ["key": ["uuid": 1], "name": "uuid_1"],
                ["key": ["deleted": 1, "start_time": -1], "name": "deleted_1_start_time_-1"],
            ],
        ])
        try database.runCommand([
            "createIndexes": "metadata",
            "indexes": [["key": ["recording_uuid": 1], "name": "recording_uuid_1"], ["key": ["code": 1], "name": "code_1", "unique": true]],
        ])
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(try mongoAuditBinary(), arguments)
    }

    func audit(_ spec: String) throws -> (status: Int32, ids: [String], stdout: String) {
        let result = try run(["audit", "--uri", try TestServer.uri(), "--spec", spec, "--database", databaseName, "--fail-on", "low", "--format", "json"])
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let checks = json?["checks"] as? [[String: Any]] ?? []
        let findings = checks.flatMap { $0["findings"] as? [[String: Any]] ?? [] }
        let gated = findings.filter { ["low", "medium", "high", "critical"].contains($0["severity"] as? String ?? "") }
        return (result.status, gated.compactMap { $0["id"] as? String }, result.stdout + result.stderr)
    }

    func testInitWritesASpecThatPassesThenFailsNamingTheDrift() throws {
        try buildDatabase()
        let spec = directory.appendingPathComponent("spec.yml").path
        let written = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", spec])
        XCTAssertEqual(written.status, 0, written.stdout + written.stderr)
        let text = try String(contentsOfFile: spec, encoding: .utf8)
        for expected in [
            "- check: required_collections", "collections: [\"metadata\", \"recordings\"]",
            "keys: {\"start_time\": 1}", "keys: {\"deleted\": 1, \"start_time\": -1}", "keys: {\"code\": 1}", "unique: true",
            "\"end_time\": {types: [date], min_complete: 0.79}", "\"uuid\": {types: [string], min_complete: 0.99}",
            "\"note\": {types: [string], min_complete: 0.74}",
            "in: [\"float32\", \"float64\", \"int16\"]", "min: 1000", "max: 2002", "min: \"2025-06-15T15:06:40Z\"",
            "  # unique index code_1\n  - check: unique_values", "field: \"uuid\"",
            "to_collection: \"recordings\"", "to_field: \"uuid\"", "- check: query_plans", "name: \"by start_time\"",
        ] {
            XCTAssertTrue(text.contains(expected), "missing \(expected) in:\n\(text)")
        }
        XCTAssertTrue(text.contains("in: [\"derived\", \"raw\"]"), text)

        let clean = try audit(spec)
        XCTAssertEqual(clean.status, 0, clean.stdout)
        XCTAssertEqual(clean.ids, [], clean.stdout)

        // Drift: an index dropped, documents without a field.
        try client.database(databaseName).collection("recordings").dropIndex(named: "start_time_1")
        try client.database(databaseName).collection("recordings").insertMany(
            (300..<340).map { i in
                [
                    "uuid": .string(Self.uuid(i)), "start_time": .datetime(Date(timeIntervalSince1970: 1_750_000_100)),
                    "sample_rate": 1000.0, "channels": ["min": 1, "max": 64], "tags": [], "deleted": false, "note": "n",
                ]
            })
        let drifted = try audit(spec)
        XCTAssertEqual(drifted.status, 1, drifted.stdout)
        XCTAssertTrue(drifted.ids.contains("critical_indexes/recordings/missing_index/{start_time: 1}"), "\(drifted.ids)")
        XCTAssertTrue(drifted.ids.contains("field_completeness/recordings/incomplete_field/dtype"), "\(drifted.ids)")
        XCTAssertTrue(drifted.ids.contains("field_completeness/recordings/incomplete_field/end_time"), "\(drifted.ids)")
    }

    func testInitFromASampleStillPassesOnEveryDocument() throws {
        try buildDatabase()
        let spec = directory.appendingPathComponent("sampled.yml").path
        let written = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", spec, "--sample", "30"])
        XCTAssertEqual(written.status, 0, written.stdout + written.stderr)
        let text = try String(contentsOfFile: spec, encoding: .utf8)
        XCTAssertTrue(text.contains("from a random sample of 30 documents"), text)
        // Completeness and ranges come from the whole collection: the same figures as a full init.
        XCTAssertTrue(text.contains("# end_time: complete in 80.00% (240 of 300)"), text)
        XCTAssertTrue(text.contains("\"end_time\": {types: [date], min_complete: 0.79}"), text)
        XCTAssertTrue(text.contains("min: 1000\n      max: 2002"), text)
        let clean = try audit(spec)
        XCTAssertEqual(clean.status, 0, clean.stdout)
        XCTAssertEqual(clean.ids, [], clean.stdout)
    }

    func testOddNamesAndValuesAreQuotedSoTheSpecParsesAndPasses() throws {
        let documents = (0..<30).map { i -> Document in
            ["a\nb": .int32(Int32(i)), "q\"x": .string(["v\"1", "v\n2", "#3"][i % 3]), "sp ace": "x: y", "t": "\u{1B}[31m"]
        }
        try client.database(databaseName).collection("we\"ird # c").insertMany(documents)
        let spec = directory.appendingPathComponent("odd.yml").path
        let written = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", spec])
        XCTAssertEqual(written.status, 0, written.stdout + written.stderr)
        let text = try String(contentsOfFile: spec, encoding: .utf8)
        XCTAssertFalse(text.contains("\u{1B}"), "no raw escape characters in the spec")
        XCTAssertTrue(text.contains("in: [\"#3\", \"v\\n2\", \"v\\\"1\"]"), text)
        let clean = try audit(spec)
        XCTAssertEqual(clean.status, 0, clean.stdout)
    }

    func testInitNeverOverwritesWithoutForce() throws {
        try buildDatabase()
        let spec = directory.appendingPathComponent("existing.yml").path
        try "keep me\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let refused = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", spec])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: spec, encoding: .utf8), "keep me\n")
        let toDirectory = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", directory.path, "--force"])
        XCTAssertEqual(toDirectory.status, 2, toDirectory.stderr)
        let forced = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName, "--output", spec, "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(try String(contentsOfFile: spec, encoding: .utf8).hasPrefix("# Starter spec"))
        // Without --output the spec goes to stdout.
        let printed = try run(["init", "--uri", try TestServer.uri(), "--database", databaseName])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertTrue(printed.stdout.contains("version: 1"))
    }

    func testProfileCommandInTextAndJSON() throws {
        try buildDatabase()
        let text = try run(["profile", "--uri", try TestServer.uri(), "--database", databaseName, "--collection", "recordings"])
        XCTAssertEqual(text.status, 0, text.stderr)
        for expected in ["recordings: 300 document(s)", "channels.min", "tags[]", "HyperLogLog"] {
            XCTAssertTrue(text.stdout.contains(expected), "missing \(expected) in:\n\(text.stdout)")
        }
        XCTAssertFalse(text.stdout.contains("metadata:"))
        let json = try run(["profile", "--uri", try TestServer.uri(), "--database", databaseName, "--format", "json", "--sample", "50"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let collections = try XCTUnwrap(object["collections"] as? [[String: Any]])
        XCTAssertEqual(collections.count, 2)
        let recordings = try XCTUnwrap(collections.first { $0["collection"] as? String == "recordings" })
        XCTAssertEqual(recordings["documents"] as? Int, 50)
        let paths = try XCTUnwrap(recordings["paths"] as? [[String: Any]])
        let deleted = try XCTUnwrap(paths.first { $0["path"] as? String == "deleted" })
        XCTAssertEqual((deleted["types"] as? [String: Any])?["bool"] as? Int, 50)
    }
}
