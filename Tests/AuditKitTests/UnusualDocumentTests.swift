import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Documents holding every BSON type, nested deeply, or at the 16 MB limit never crash an audit.
final class UnusualDocumentTests: XCTestCase {
    func testEveryTypeDeepNestingAndSixteenMegabytes() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("unusual"))
        defer { try? database.drop() }
        let oid = ObjectID()
        let oddValues: [BSONValue] = [
            .double(1.5), .string("text"), ["nested": 1], [1, "two"], .binary(subtype: 0, data: Data([0, 1, 2])),
            .undefined, .objectId(oid), .bool(true), .datetime(Date()), .null, .regex(pattern: "^a", options: "i"),
            .dbPointer(collection: "db.c", id: oid), .javascript("1"), .symbol("s"),
            .javascriptWithScope(code: "x", scope: ["x": 1]), .int32(7), .timestamp(seconds: 1, increment: 2),
            .int64(1 << 40), .decimal128("9.99"), .minKey, .maxKey,
        ]
        // Every type in every audited field, one document each.
        let recordings = database.collection("recordings")
        try recordings.insertMany(
            oddValues.map { value in
                ["uuid": value, "start_time": value, "end_time": value, "deleted": value, "channels": ["min": value]]
            })
        var deep: Document = ["leaf": 1]
        for _ in 0..<80 { deep = ["n": .document(deep)] }
        try recordings.insertOne(["uuid": "deep", "start_time": .datetime(Date()), "channels": .document(deep)])
        let big = Data(repeating: 7, count: 16 * 1024 * 1024 - 1_024)
        try recordings.insertOne(["uuid": "big", "blob": .binary(subtype: 0, data: big)])

        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - check: field_completeness
                    collection: recordings
                    fields: {uuid: {types: [string]}, channels.min: {types: [int, long]}, channels.n.n.n: {types: [object]}}
                  - check: live_historic
                    collection: recordings
                    deleted_field: deleted
                  - check: value_rules
                    collection: recordings
                    rules:
                      - {field: channels.min, min: 1}
                      - {field: uuid, pattern: '^[a-z]+$'}
                      - {field: start_time, max: now}
                      - {field: deleted, in: [0, 1]}
                  - check: unique_values
                    collection: recordings
                    field: uuid
                """, file: "unusual.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(report.checks.map(\.status).filter { $0 == .notRun }, [])
        let completeness = try XCTUnwrap(report.allFindings.first { $0.id == "field_completeness/recordings/incomplete_field/uuid" })
        // Present in all 23 documents; null in two (null, and undefined, which the server's `{uuid: null}`
        // matches too); a string in "text", "deep", "big" and the array [1, "two"] (as `$type: "string"` sees it).
        XCTAssertEqual(completeness.metrics["missing"], .proportion(Proportion(count: 0, of: 23)))
        XCTAssertEqual(completeness.metrics["null"], .proportion(Proportion(count: 2, of: 23)))
        XCTAssertEqual(completeness.metrics["wrongType"], .proportion(Proportion(count: 17, of: 23)))
        XCTAssertTrue(report.allFindings.contains { $0.id == "value_rules/recordings/rule_violated/channels.min >= 1" })
    }
}

/// Fields under a compound `_id` ({_id: {site, n}}): the reads that verify duplicates and resolve references
/// project `_id` itself, and must not name `_id` and `_id.site` together (a path collision the server refuses).
final class CompoundIDFieldTests: XCTestCase {
    func testUniqueValuesAndReferencesUnderACompoundID() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("compoundid"))
        defer { try? database.drop() }
        let sites = database.collection("sites")
        // 6 documents, _id.site "a" three times and "b" twice: 2 duplicated values, 3 extra documents.
        try sites.insertMany(["a", "a", "a", "b", "b", "c"].enumerated().map { n, site in ["_id": ["site": .string(site), "n": .int32(Int32(n))]] })
        try database.collection("readings").insertMany([["site": "a"], ["site": "c"], ["site": "zzz"]])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: unique_values, collection: sites, field: _id.site}
                  - {check: references, collection: readings, field: site, to_collection: sites, to_field: _id.site}
                """, file: "t.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        for check in report.checks { XCTAssertNotEqual(check.status, .notRun, "\(check.check): \(check.reason ?? "")") }
        let unique = try XCTUnwrap(report.checks.first { $0.check == "unique_values" })
        // The server's own count of what repeats: $group on the field.
        var repeated: [Int] = []
        try sites.aggregate([["$group": ["_id": "$_id.site", "n": ["$sum": 1]]], ["$match": ["n": ["$gt": 1]]]]) { cursor in
            while let group = try cursor.next() { repeated.append(group["n"]?.intValue ?? 0) }
        }
        XCTAssertEqual(repeated.count, 2)
        XCTAssertEqual(unique.metrics["duplicatedValues"]?.number, Double(repeated.count))
        XCTAssertEqual(unique.metrics["extraDocuments"]?.number, Double(repeated.reduce(0) { $0 + $1 - 1 }))
        let references = try XCTUnwrap(report.checks.first { $0.check == "references" })
        XCTAssertEqual(references.metrics["orphanValues"]?.number, 1)
    }
}
