import AuditKit
import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

/// `freshness` and `volume` against the server's own figures: a count, and the newest date by `$max` over
/// the dates a path reaches (arrays unwound), independent of the check's sorted query.
final class FreshnessVolumeTests: XCTestCase {
    static func audit(_ entry: String, on database: MongoDatabase, client: MongoClient) throws -> AuditReport {
        let indented = entry.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n")
        let spec = try AuditSpec(text: "version: 1\nchecks:\n  - \(indented.dropFirst(4))\n", file: "spec.yml")
        return try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
    }

    func testVolumeIsTheServersCount() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("volume"))
        defer { try? database.drop() }
        let events = database.collection("events")
        try events.insertMany((0..<1_200).map { ["n": .int32(Int32($0)), "even": .bool($0 % 2 == 0)] })
        var counted = 0
        try events.aggregate([["$count": "n"]]) { cursor in counted = try cursor.next()?["n"]?.intValue ?? -1 }
        XCTAssertEqual(counted, 1_200)
        XCTAssertEqual(try events.countDocuments(["even": true]) + (try events.countDocuments(["even": false])), counted)

        let exact = try Self.audit("check: volume\ncollection: events\nmin: 2000", on: database, client: client)
        let tooFew = try XCTUnwrap(exact.allFindings.first { $0.id == "volume/events/too_few" })
        XCTAssertEqual(tooFew.metrics["documents"]?.number, Double(counted))
        XCTAssertEqual(tooFew.metrics["shortfall"]?.number, Double(2_000 - counted))

        let metadata = try database.runCommand(["count": "events"])["n"]?.intValue
        let estimated = try Self.audit("check: volume\ncollection: events\nmax: 1000\nestimate: true", on: database, client: client)
        let tooMany = try XCTUnwrap(estimated.allFindings.first { $0.id == "volume/events/too_many" })
        XCTAssertEqual(tooMany.metrics["documents"]?.number, metadata.map(Double.init))
        XCTAssertEqual(tooMany.metrics["excess"]?.number, Double(counted - 1_000))

        let within = try Self.audit("check: volume\ncollection: events\nmin: 1200\nmax: 1200", on: database, client: client)
        XCTAssertEqual(within.outcome, .passed, "both bounds are inclusive")
    }

    /// Strings, numbers, timestamps and nested arrays share the path with the dates; only dates count, and an
    /// array that a timestamp sorts first does not hide a newer date elsewhere.
    func testFreshnessIsTheNewestDateTheServerFinds() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("freshness"))
        defer { try? database.drop() }
        let now = Date()
        let events = database.collection("events")
        try events.insertMany([
            ["at": .datetime(now.addingTimeInterval(-3 * 86_400))],
            ["at": "9999-12-31"],
            ["at": .int64(Int64.max)],
            ["at": .timestamp(seconds: UInt32.max, increment: 1)],
            ["at": [.datetime(now.addingTimeInterval(-5 * 86_400)), .datetime(now.addingTimeInterval(-2 * 86_400)), "zzz"]],
            // A descending sort keys this array by its timestamp, above every date: it comes first, and its
            // date is not the newest.
            ["at": [.datetime(now.addingTimeInterval(-10 * 86_400)), .timestamp(seconds: 1, increment: 1)]],
            ["at": .null],
            ["other": 1],
        ])
        let pipeline: [Document] = [
            ["$unwind": ["path": "$at", "preserveNullAndEmptyArrays": true]], ["$match": ["at": ["$type": "date"]]],
            ["$group": ["_id": .null, "newest": ["$max": "$at"]]],
        ]
        var newest: Date?
        try events.aggregate(pipeline) { cursor in newest = try cursor.next()?["newest"]?.dateValue }
        let expected = try XCTUnwrap(newest)

        let report = try Self.audit("check: freshness\ncollection: events\nfield: at\nmax_age: 1d", on: database, client: client)
        let stale = try XCTUnwrap(report.allFindings.first { $0.id == "freshness/events/stale/at" })
        let age = try XCTUnwrap(stale.metrics["ageSeconds"]?.number)
        XCTAssertEqual(report.startedAt.timeIntervalSince(expected), age, accuracy: 0.002)
        XCTAssertEqual(stale.metrics["maxAgeSeconds"]?.number, 86_400)
        let fresh = try Self.audit("check: freshness\ncollection: events\nfield: at\nmax_age: 3d", on: database, client: client)
        XCTAssertEqual(fresh.outcome, .passed)
    }

    /// Dates at both ends of the int64 range of milliseconds: figures stay finite, nothing traps.
    func testDatesAtTheInt64LimitsDoNotTrap() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("freshlimits"))
        defer { try? database.drop() }
        func date(_ milliseconds: Int64) throws -> Document {
            try Document(json: #"{"at": {"$date": {"$numberLong": "\#(milliseconds)"}}}"#)
        }
        try database.collection("oldest").insertMany([try date(Int64.min), try date(Int64.min + 1)])
        try database.collection("latest").insertMany([try date(Int64.max), try date(0)])
        let old = try Self.audit("check: freshness\ncollection: oldest\nfield: at\nmax_age: 2w", on: database, client: client)
        let age = try XCTUnwrap(old.allFindings.first { $0.kind == "stale" }?.metrics["ageSeconds"]?.number)
        XCTAssertTrue(age.isFinite && age > 9e15, "\(age)")
        let ahead = try Self.audit("check: freshness\ncollection: latest\nfield: at\nmax_age: 2w\nmax_future: 5m", on: database, client: client)
        let future = try XCTUnwrap(ahead.allFindings.first { $0.kind == "future" })
        XCTAssertTrue(future.metrics["aheadSeconds"]!.number.isFinite && future.metrics["aheadSeconds"]!.number > 9e15)
        XCTAssertFalse(future.title.isEmpty)
    }

    func testNoDateAndEmptyCollectionAreFindings() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("freshempty"))
        defer { try? database.drop() }
        try database.runCommand(["create": "empty"])
        let report = try Self.audit("check: freshness\ncollection: empty\nfield: at\nmax_age: 1h", on: database, client: client)
        let finding = try XCTUnwrap(report.allFindings.first { $0.id == "freshness/empty/no_dates/at" })
        XCTAssertEqual(finding.metrics["documents"]?.number, 0)
        XCTAssertEqual(report.outcome, .failed)
    }

    func testBadOptionsNameFileLineAndField() {
        let head = "version: 1\nchecks:\n"
        assertSpecError(
            head + "  - check: freshness\n    collection: e\n    field: at\n    max_age: 10y\n", line: 6, field: "checks[0].max_age",
            contains: "expected a positive duration such as 90s")
        assertSpecError(
            head + "  - check: freshness\n    collection: e\n    field: at\n    max_age: 0s\n", line: 6, field: "checks[0].max_age",
            contains: "expected a positive duration")
        assertSpecError(
            head + "  - check: freshness\n    collection: e\n    field: at\n    max_age: 1d\n    max_future: 99999999999999999999w\n", line: 7,
            field: "checks[0].max_future", contains: "at most 100 years")
        assertSpecError(
            head + "  - check: freshness\n    collection: e\n    max_age: 1d\n", line: 3, field: "checks[0]", contains: "missing required field 'field'")
        assertSpecError(
            head + "  - check: volume\n    collection: e\n    min: 10\n    max: 5\n", line: 6, field: "checks[0].max", contains: "below min")
        assertSpecError(head + "  - check: volume\n    collection: e\n", line: 3, field: "checks[0]", contains: "give min, max or both")
        assertSpecError(head + "  - check: volume\n    collection: e\n    min: -1\n", line: 5, field: "checks[0].min", contains: "must be between 0")
        assertSpecError(
            head + "  - check: volume\n    collection: e\n    max: 3\n    estimate: sometimes\n", line: 6, field: "checks[0].estimate",
            contains: "expected true or false")
    }
}
