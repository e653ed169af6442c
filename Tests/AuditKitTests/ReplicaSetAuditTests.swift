import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Checks whose answer depends on every member of a replica set, against a real three-member set.
final class ReplicaSetAuditTests: XCTestCase {
    func testIndexHygieneReadsEveryMemberAndFlagsOnlyTheUnusedIndex() throws {
        let replicaSet = try LaunchedReplicaSet()
        defer { replicaSet.stop() }
        let client = try replicaSet.client()
        let database = client.database("hygiene")
        let recordings = database.collection("recordings")
        try recordings.insertMany((0..<200).map { ["site": .string("s\($0 % 7)"), "channel": .int32(Int32($0))] })
        try recordings.createIndexes([
            IndexSpec(keys: [IndexKey(field: "site", kind: "1")]), IndexSpec(keys: [IndexKey(field: "channel", kind: "1")]),
        ])
        let spec = try AuditSpec(
            text: "version: 1\nchecks:\n  - check: index_hygiene\n    collection: recordings\n    warmup_days: 0\n", file: "rs.yml")
        let check = try XCTUnwrap(spec.checks.first?.check as? IndexHygieneCheck)

        // Secondaries build the indexes a moment after the primary; wait until all three report both.
        let deadline = Date().addingTimeInterval(60)
        var usage: [String: IndexHygieneCheck.Usage] = [:]
        repeat {
            usage = try check.indexUsage(context: AuditContext(database: database, maxTimeMS: 10_000))
            if usage["site_1"]?.members.count == 3 && usage["channel_1"]?.members.count == 3 { break }
            Thread.sleep(forTimeInterval: 0.3)
        } while Date() < deadline
        XCTAssertEqual(usage["site_1"]?.members.count, 3, "\(usage)")
        XCTAssertEqual(Set(usage["site_1"]?.members ?? []).count, 3, "three different members")

        // Use site_1 on the primary only: its accesses count there, and the sum over members sees them.
        try recordings.find(["site": "s1"], options: FindOptions(hint: .string("site_1"), readPreference: .primary)) { cursor in
            _ = try cursor.all()
        }
        let findings = try check.run(in: AuditContext(database: database, maxTimeMS: 10_000), severity: .low).findings
        let unused = findings.filter { $0.kind == "unused_index" }
        XCTAssertEqual(unused.map(\.subject), ["channel_1"], "\(findings.map(\.id))")
        XCTAssertEqual(unused.first?.metrics["members"], .count(3))
        XCTAssertFalse(findings.contains { $0.subject == "_id_" }, "the _id index is never suggested for dropping")
    }
}
