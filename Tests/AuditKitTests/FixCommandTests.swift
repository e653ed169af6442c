import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// A fix is the command (or commands) that really fix the finding: each test runs what the finding prints
/// on the real server, audits again and expects the finding gone.
final class FixCommandTests: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("fixes"))
    }

    override func tearDownWithError() throws { try database?.drop() }

    /// The documents of every `runCommand(...)` in a printed fix, in order.
    static func commands(in fix: String) throws -> [Document] {
        var result: [Document] = []
        var rest = fix[...]
        while let call = rest.range(of: "runCommand(") {
            var depth = 0
            var end = call.upperBound
            for index in rest[call.upperBound...].indices {
                if rest[index] == "{" { depth += 1 }
                if rest[index] == "}" { depth -= 1 }
                if depth == 0 { end = rest.index(after: index); break }
            }
            result.append(try Document(json: String(rest[call.upperBound..<end])))
            rest = rest[end...]
        }
        return result
    }

    func audit(_ entries: String) throws -> AuditReport {
        let spec = try AuditSpec(text: "version: 1\nchecks:\n" + entries, file: "fix.yml")
        return try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
    }

    func applyFix(of finding: Finding) throws {
        let commands = try Self.commands(in: try XCTUnwrap(finding.fix))
        XCTAssertFalse(commands.isEmpty, finding.fix ?? "")
        for command in commands { try database.runCommand(command) }
    }

    func testANameTakenByAnotherIndexGetsAFreeName() throws {
        try database.runCommand(["createIndexes": "recordings", "indexes": [["key": ["other": 1], "name": "uuid_1"]]])
        let entry = "  - check: critical_indexes\n    collection: recordings\n    indexes: [{keys: {uuid: 1}}]\n"
        let finding = try XCTUnwrap(try audit(entry).allFindings.first)
        XCTAssertEqual(finding.id, "critical_indexes/recordings/missing_index/{uuid: 1}")
        XCTAssertEqual(finding.indexToCreate?["name"], "uuid_1_2")
        try applyFix(of: finding)
        XCTAssertEqual(try audit(entry).allFindings, [])
    }

    func testUniquenessIsAddedInPlace() throws {
        try database.runCommand(["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "b"]]])
        try database.runCommand(["createIndexes": "recordings", "indexes": [["key": ["uuid": 1], "name": "uuid_1"]]])
        let entry = "  - check: critical_indexes\n    collection: recordings\n    indexes: [{keys: {uuid: 1}, unique: true}]\n"
        let finding = try XCTUnwrap(try audit(entry).allFindings.first)
        XCTAssertEqual(finding.kind, "options_differ")
        XCTAssertNil(finding.indexToCreate, "createIndexes on the same keys would fail")
        XCTAssertTrue(finding.fix?.contains("prepareUnique") == true, finding.fix ?? "")
        try applyFix(of: finding)
        XCTAssertEqual(try audit(entry).allFindings, [])
    }

    func testOtherOptionsAreDroppedAndRecreated() throws {
        try database.runCommand(["createIndexes": "recordings", "indexes": [["key": ["uuid": 1], "name": "uuid_1", "sparse": true]]])
        let entry = "  - check: critical_indexes\n    collection: recordings\n    indexes: [{keys: {uuid: 1}}]\n"
        let finding = try XCTUnwrap(try audit(entry).allFindings.first)
        XCTAssertEqual(finding.kind, "options_differ")
        XCTAssertTrue(finding.facts.contains { $0.name == "differs" && $0.text.contains("sparse") }, "\(finding.facts)")
        try applyFix(of: finding)
        XCTAssertEqual(try audit(entry).allFindings, [])
    }

    /// The same audit found duplicates of the field a unique index is wanted on: the index finding says the
    /// build is blocked and its fix starts with the duplicates.
    func testAUniqueIndexOverDuplicatesPointsAtThemFirst() throws {
        try database.runCommand(["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "a"], ["uuid": "b"]]])
        let report = try audit(
            "  - check: critical_indexes\n    collection: recordings\n    indexes: [{keys: {uuid: 1}, unique: true}]\n"
                + "  - check: unique_values\n    collection: recordings\n    field: uuid\n")
        let index = try XCTUnwrap(report.allFindings.first { $0.check == "critical_indexes" })
        XCTAssertTrue(index.fact("blockedBy")?.hasPrefix("unique_values/recordings/duplicate_values/uuid: 1 duplicated value") == true, "\(index.facts)")
        XCTAssertTrue(index.fix?.hasPrefix("first resolve the duplicates") == true, index.fix ?? "")
        // The printed createIndexes would indeed fail on them.
        let createIndexes = try XCTUnwrap(try Self.commands(in: try XCTUnwrap(index.fix)).last)
        XCTAssertThrowsError(try database.runCommand(createIndexes))
    }
}

/// `query_plans` offers an index only for a filter one index can serve.
final class QueryPlanFixTests: XCTestCase {
    func testAnIndexIsOfferedOnlyForAConjunctionOfFields() throws {
        let plain = QueryPlansCheck.Query(name: "q", filter: ["a": 1, "b": ["$gt": 2]], sort: ["c": -1, "a": 1])
        XCTAssertEqual(QueryPlansCheck.servingIndex(for: plain), ["a": 1, "b": 1, "c": -1])
        for filter: Document in [["$or": [["a": 1], ["b": 1]]], ["$expr": ["$gt": ["$a", "$b"]]], [:]] {
            XCTAssertNil(QueryPlansCheck.servingIndex(for: QueryPlansCheck.Query(name: "q", filter: filter, sort: nil)), "\(filter)")
        }
    }
}

/// `query_plans` never hammers: one explain per query, and a query that scans a large collection is not timed.
final class QueryPlansCostTests: XCTestCase {
    func testAScanOfALargeCollectionIsExplainedOnceAndNotTimed() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("plans"))
        defer { try? database.drop() }
        try database.collection("recordings").insertMany(
            (0...QueryPlansCheck.smallCollection).map { ["uuid": .string("u\($0)"), "site": .int32(Int32($0 % 7))] })
        try database.runCommand(["createIndexes": "recordings", "indexes": [["key": ["uuid": 1], "name": "uuid_1"]]])
        let spec = try AuditSpec(
            text:
                "version: 1\nchecks:\n  - check: query_plans\n    collection: recordings\n    queries: [{name: by site, filter: {site: 3}}, {name: by uuid, filter: {uuid: u5}}]\n",
            file: "t.yml")
        let scanned = { () throws -> Int in
            try client.database("admin").runCommand(["serverStatus": 1]).value(at: "metrics.queryExecutor.scannedObjects")?.intValue ?? -1
        }
        let before = try scanned()
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        XCTAssertLessThan(try scanned() - before, 100, "the collection scan is explained, never executed")
        let result = try XCTUnwrap(report.checks.first)
        XCTAssertEqual(result.metrics["queriesTimed"], .count(1), "only the index-served query is timed")
        let scan = try XCTUnwrap(result.findings.first { $0.id == "query_plans/recordings/collection_scan/by site" })
        XCTAssertEqual(scan.metrics["docsExamined"], .count(QueryPlansCheck.smallCollection + 1))
        XCTAssertFalse(result.findings.contains { $0.id == "query_plans/recordings/query_latency/by site" })
        let served = try XCTUnwrap(result.findings.first { $0.id == "query_plans/recordings/query_latency/by uuid" })
        XCTAssertEqual(served.metrics["keysExamined"], .count(1))
        XCTAssertEqual(served.metrics["returned"], .count(1))
    }
}
