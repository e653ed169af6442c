import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import MigrationKit

/// apply, down, status, resolve and the safe index build rules, against the shared server.
final class MigrationRunnerTests: MigrationTestCase {
    func testApplyRecordsAndDownRemovesExactlyTheCreatedIndexes() throws {
        try SampleDatabase(recordingCount: 1_000).create(in: database)
        let first = try migration(1, Self.criticalIndexes, title: "critical")
        let second = try migration(2, "up:\n  - hide_index: {collection: recordings, name: uuid_1}\n", title: "hide")
        XCTAssertEqual(try statuses([first, second]), [.pending, .pending])

        XCTAssertEqual(try runner([first, second]).apply(to: 1), [1])
        XCTAssertEqual(try indexNames(), Self.migratedIndexes)
        let creates = sentCommands.filter { $0["createIndexes"] != nil }
        XCTAssertEqual(creates.count, 1, "all indexes of a collection go in one createIndexes")
        XCTAssertEqual(creates.first?["indexes"]?.arrayValue?.count, 3)
        XCTAssertFalse(sentCommands.map(\.relaxedJSON).joined().contains("background"))
        let record = try XCTUnwrap(try records().first)
        XCTAssertEqual(record.version, 1)
        XCTAssertEqual(record.title, "critical")
        XCTAssertEqual(record.checksum, first.checksum)
        XCTAssertEqual(record.state, .applied)
        XCTAssertFalse(record.dirty)
        XCTAssertEqual(record.tool, "mongo-audit tests")
        XCTAssertEqual(record.host, ProcessInfo.processInfo.hostName)
        XCTAssertNotNil(record.durationSeconds)
        XCTAssertEqual(record.outcome, ["recordings: created end_time_1, uuid_1, deleted_1"])
        XCTAssertEqual(try statuses([first, second]), [.applied, .pending])

        try runner([first, second]).apply()
        XCTAssertEqual(try database.collection("recordings").listIndexes().first { $0.name == "uuid_1" }?.hidden, true)
        XCTAssertEqual(try runner([first, second]).down(), [2], "down reverses the last one")
        XCTAssertEqual(try database.collection("recordings").listIndexes().first { $0.name == "uuid_1" }?.hidden, false)
        try runner([first, second]).down()
        XCTAssertEqual(try indexNames(), Self.sampleIndexes)
        XCTAssertEqual(try records().count, 0)
        XCTAssertEqual(try statuses([first, second]), [.pending, .pending])
    }

    func testAnIdenticalIndexIsARecordedNoOpAndSurvivesDown() throws {
        try SampleDatabase(recordingCount: 500).create(in: database)
        try database.collection("recordings").createIndexes([IndexSpec(keys: [IndexKey(field: "uuid", direction: 1)])])
        let first = try migration(1, Self.criticalIndexes)
        try runner([first]).apply()
        XCTAssertEqual(
            try records().first?.outcome,
            [
                "recordings: uuid_1 existed with the same spec (no-op)", "recordings: created end_time_1, deleted_1",
            ])
        XCTAssertEqual(sentCommands.first?["indexes"]?.arrayValue?.count, 2)
        try runner([first]).down()
        XCTAssertEqual(try indexNames(), Self.sampleIndexes.union(["uuid_1"]), "down keeps the index that existed before")
        XCTAssertTrue(log.contains("  recordings: kept uuid_1, it existed before the migration"), "\(log)")
    }

    func testSameNameOtherSpecFailsSayingWhatDiffersAndBlocksUntilResolved() throws {
        try SampleDatabase(recordingCount: 500).create(in: database)
        try database.collection("recordings").createIndexes([IndexSpec(keys: [IndexKey(field: "end_time", direction: -1)], name: "end_time_1", sparse: true)])
        let first = try migration(1, Self.criticalIndexes)
        XCTAssertThrowsError(try runner([first]).apply()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("index 'end_time_1' on recordings exists with a different spec"), text)
            XCTAssertTrue(text.contains("keys: existing {end_time: -1}, wanted {end_time: 1}"), text)
            XCTAssertTrue(text.contains("sparse: existing true, wanted false"), text)
        }
        XCTAssertEqual(try indexNames(), Self.sampleIndexes.union(["end_time_1"]), "nothing dropped or rebuilt, nothing half built")
        XCTAssertTrue(sentCommands.isEmpty)
        XCTAssertEqual(try records().first?.state, .failed)
        XCTAssertEqual(try statuses([first]), [.failed])
        XCTAssertThrowsError(try runner([first]).apply()) { error in
            guard case MigrationError.blocked(.failed(let version, _, let message)) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(version, 1)
            XCTAssertTrue(message?.contains("exists with a different spec") ?? false, "\(error)")
        }
        try database.collection("recordings").dropIndex(named: "end_time_1")
        _ = try runner([first]).resolve(version: 1)
        try runner([first]).apply()
        XCTAssertEqual(try indexNames(), Self.migratedIndexes)
    }

    func testUniqueIndexStopsOnDuplicatesWithExamples() throws {
        try SampleDatabase(recordingCount: 1_000).create(in: database)  // holds duplicate uuids on purpose
        let unique = try migration(1, "up:\n  - create_indexes:\n      collection: recordings\n      indexes: [{keys: {uuid: 1}, unique: true}]\n")
        XCTAssertThrowsError(try runner([unique]).apply()) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("unique index 'uuid_1' on recordings cannot be built: duplicate values exist"), text)
            XCTAssertTrue(text.contains("{ \"uuid\" : \"") && text.contains("on 2 documents, e.g. { \"_id\""), text)
        }
        XCTAssertTrue(sentCommands.isEmpty, "the build never started")
        XCTAssertEqual(try indexNames(), Self.sampleIndexes)
    }

    func testChangedFileIsFlaggedAndBlocksUntilAccepted() throws {
        try SampleDatabase(recordingCount: 200).create(in: database)
        try runner([try migration(1, Self.criticalIndexes)]).apply()
        let edited = try migration(1, Self.criticalIndexes + "\n# edited\n")
        let later = try migration(2, "up:\n  - hide_index: {collection: recordings, name: uuid_1}\n")
        XCTAssertEqual(try statuses([edited, later]), [.changed, .pending])
        XCTAssertThrowsError(try runner([edited, later]).apply()) { error in
            XCTAssertTrue(String(describing: error).contains("changed since migration 1 was applied"), "\(error)")
        }
        XCTAssertThrowsError(try runner([edited, later]).down(to: 0))
        XCTAssertEqual(try runner([edited, later]).resolve(version: 1), .acceptedChangedFile(version: 1, file: edited.file))
        XCTAssertEqual(try runner([edited, later]).apply(), [2])
    }

    func testValidatorAndHiddenIndexesWithWrittenDown() throws {
        try SampleDatabase(recordingCount: 200).create(in: database)
        let validator = try migration(
            1,
            """
            up:
              - set_validator:
                  collection: recordings
                  level: moderate
                  json_schema: {required: [uuid], properties: {uuid: {bsonType: string}}}
              - set_validator: {collection: brand_new, json_schema: {required: [name]}}
            down:
              - set_validator: {collection: recordings, json_schema: {}}
              - set_validator: {collection: brand_new, json_schema: {}}
            """)
        try runner([validator]).apply()
        let info = try database.listCollections(filter: ["name": "recordings"]).first
        XCTAssertEqual(info?.validator?["$jsonSchema"]?.documentValue?["required"], ["uuid"])
        XCTAssertEqual(info?.options["validationLevel"], "moderate")
        XCTAssertNotNil(try database.listCollections(filter: ["name": "brand_new"]).first?.validator, "created with its validator")
        try runner([validator]).down()
        XCTAssertNil(try database.listCollections(filter: ["name": "recordings"]).first?.validator?["$jsonSchema"])
    }

    func testCommitQuorumNeedsAReplicaSet() throws {
        let first = try migration(1, Self.criticalIndexes)
        XCTAssertThrowsError(try runner([first]) { $0.commitQuorum = "majority" }.apply()) { error in
            XCTAssertTrue(String(describing: error).contains("a commit quorum needs a replica set"), "\(error)")
        }
    }
}
