import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Every valid document of the BSON specification's corpus, inserted into a real collection and audited
/// by every document check on every field the corpus uses: the audit runs to the end without a crash.
final class BSONCorpusAuditTests: XCTestCase {
    func testEveryValidCorpusDocumentIsAudited() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("corpus"))
        defer { try? database.drop() }
        let collection = database.collection("corpus")
        var inserted = 0
        var refused: [String] = []
        var keys = Set<String>()
        for file in try BSONCorpus.load() {
            keys.insert(file.testKey)
            for bytes in file.valid {
                do {
                    try collection.insertOne(try Document(bytes: bytes))
                    inserted += 1
                } catch {
                    refused.append("\(file.name): \(error)")
                }
            }
        }
        XCTAssertGreaterThan(inserted, 600, refused.joined(separator: "\n"))
        var spec = "version: 1\nchecks:\n  - check: field_completeness\n    collection: corpus\n    fields:\n"
        let paths = keys.sorted().filter { !$0.isEmpty && !$0.contains("$") && !$0.contains(".") }
        for key in paths { spec += "      \"\(key)\": {types: [number, string], min_complete: 0}\n" }
        spec += "  - check: value_rules\n    collection: corpus\n    rules:\n"
        for key in paths {
            spec += "      - {field: \"\(key)\", min: 0, max: 1E300}\n      - {field: \"\(key)\", in: [1, x]}\n      - {field: \"\(key)\", pattern: '^a'}\n"
        }
        spec += "  - check: live_historic\n    collection: corpus\n    start_field: a\n    end_field: d\n"
        for key in paths {
            spec += "  - check: unique_values\n    collection: corpus\n    field: \"\(key)\"\n"
            spec += "  - check: references\n    collection: corpus\n    field: \"\(key)\"\n    to_collection: corpus\n    to_field: \"\(key)\"\n"
        }
        let report = try Auditor(spec: try AuditSpec(text: spec, file: "corpus.yml")).run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(report.checks.filter { $0.status == .notRun }.map { "\($0.check): \($0.reason ?? "")" }, [])
        print("BSONCorpusAuditTests: \(inserted) corpus documents inserted (\(refused.count) refused by the server), \(report.checks.count) checks ran")
    }
}
