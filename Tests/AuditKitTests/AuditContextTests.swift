import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// `AuditContext` is public and Sendable: an embedder may share one across threads. Its time limit, sample
/// size and catalog caches change while checks run, so every thread must see whole values and the caches
/// must hold what the server said.
final class AuditContextTests: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("auditcontext"))
        try database.collection("recordings").insertMany((0..<10).map { ["t": .int32(Int32($0))] })
        try database.collection("artists").insertOne(["name": "a"])
        try database.runCommand(CriticalIndexesCheck.createIndexes(["t"]))
    }

    override func tearDownWithError() throws { try database?.drop() }

    func testAContextSharedByThreadsGivesEveryThreadTheServersCatalogAndWholeSettings() throws {
        let context = AuditContext(database: database, maxTimeMS: 1_000, readPreference: .primary)
        let expectedCollections = ["artists", "recordings"]
        let expectedIndexes = ["_id_", "t_1"]
        let writtenLimits = Set([1_000, 2_000, 3_000])
        let mismatches = Mismatches()

        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<200 {
                // One thread in two rewrites the settings while the others read them.
                if thread % 2 == 0 {
                    context.maxTimeMS = [1_000, 2_000, 3_000][round % 3]
                    context.sampleSize = round % 2 == 0 ? nil : 500
                }
                if !writtenLimits.contains(context.maxTimeMS) { mismatches.add("maxTimeMS \(context.maxTimeMS)") }
                if let sample = context.sampleSize, sample != 500 { mismatches.add("sampleSize \(sample)") }
                do {
                    let names = try context.collections().map(\.name).sorted()
                    if names != expectedCollections { mismatches.add("collections \(names)") }
                    let indexes = try context.indexes(of: round % 2 == 0 ? "recordings" : "artists").map(\.name).sorted()
                    if indexes != (round % 2 == 0 ? expectedIndexes : ["_id_"]) { mismatches.add("indexes \(indexes)") }
                } catch {
                    mismatches.add("error \(error)")
                }
            }
        }
        XCTAssertEqual(mismatches.all, [])
    }

    func testTheCatalogIsReadOncePerContext() throws {
        let context = AuditContext(database: database, maxTimeMS: 10_000, readPreference: .primary)
        XCTAssertEqual(try context.collections().map(\.name).sorted(), ["artists", "recordings"])
        XCTAssertEqual(try context.indexes(of: "recordings").map(\.name).sorted(), ["_id_", "t_1"])

        try database.collection("labels").insertOne(["name": "l"])
        _ = try database.collection("recordings").dropIndex(named: "t_1")
        XCTAssertEqual(try context.collections().map(\.name).sorted(), ["artists", "recordings"], "cached for the audit")
        XCTAssertEqual(try context.indexes(of: "recordings").map(\.name).sorted(), ["_id_", "t_1"], "cached for the audit")

        let fresh = AuditContext(database: database, maxTimeMS: 10_000, readPreference: .primary)
        XCTAssertEqual(try fresh.collections().map(\.name).sorted(), ["artists", "labels", "recordings"])
        XCTAssertEqual(try fresh.indexes(of: "recordings").map(\.name), ["_id_"])
    }
}

/// What the threads of a test saw that they should not have.
private final class Mismatches: @unchecked Sendable {
    // Sendable: `seen` is read and written only while holding `lock`.
    private let lock = NSLock()
    private var seen: [String] = []

    func add(_ text: String) { lock.withLock { seen.append(text) } }
    var all: [String] { lock.withLock { seen } }
}
