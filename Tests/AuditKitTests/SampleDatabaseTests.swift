import MongoKit
import SampleData
import TestSupport
import XCTest

/// The sample generator puts in exactly the defects its manifest counts; checked with plain server queries.
final class SampleDatabaseTests: XCTestCase {
    func testManifestMatchesTheGeneratedData() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("sample"))
        defer { try? database.drop() }
        let now = Date()
        let manifest = try SampleDatabase(recordingCount: 3_500).create(in: database, now: now)
        let recordings = database.collection("recordings")
        let nowValue = BSONValue.datetime(now)

        XCTAssertEqual(try recordings.countDocuments(), 3_500)
        XCTAssertEqual(manifest.recordings, 3_500)
        XCTAssertEqual(try database.collection("metadata").countDocuments(), manifest.metadata)
        XCTAssertEqual(manifest.live + manifest.historic, manifest.recordings)
        let live = try recordings.countDocuments(["$or": [["end_time": .null], ["end_time": ["$gt": nowValue]]]])
        XCTAssertEqual(live, manifest.live)
        XCTAssertEqual(try recordings.countDocuments(["end_time": ["$exists": false]]), manifest.endTimeMissing)
        XCTAssertEqual(try recordings.countDocuments(["end_time": ["$type": "null"]]), manifest.endTimeNull)
        XCTAssertEqual(try recordings.countDocuments(["start_time": ["$gt": nowValue]]), manifest.startInFuture)
        XCTAssertEqual(
            try recordings.countDocuments(["$expr": ["$lt": ["$end_time", "$start_time"]], "end_time": ["$type": "date"]]), manifest.endBeforeStart)
        XCTAssertEqual(try recordings.countDocuments(["channels.min": 0]), manifest.channelMinZero)
        XCTAssertEqual(try recordings.countDocuments(["num_samples_per_trace": ["$exists": false]]), manifest.numSamplesMissing)
        XCTAssertEqual(try recordings.countDocuments(["sample_rate": ["$exists": false]]), manifest.sampleRateMissing)
        XCTAssertEqual(try recordings.countDocuments(["deleted": true]), manifest.deleted)
        let duplicates = try recordings.aggregate([
            ["$group": ["_id": "$uuid", "n": ["$sum": 1]]], ["$match": ["n": ["$gt": 1]]],
        ]) { try $0.all() }
        XCTAssertEqual(duplicates.count, manifest.duplicatedUUIDs)
        XCTAssertGreaterThan(manifest.duplicatedUUIDs, 0)
        let orphans = try database.collection("metadata").aggregate([
            ["$lookup": ["from": "recordings", "localField": "recording_uuid", "foreignField": "uuid", "as": "r"]],
            ["$match": ["r": ["$size": 0]]],
        ]) { try $0.all() }
        XCTAssertEqual(orphans.count, manifest.orphanMetadata)
        XCTAssertGreaterThan(manifest.orphanMetadata, 0)
        XCTAssertEqual(Set(try recordings.listIndexes().map(\.name)), Set(["_id_"] + manifest.recordingIndexes))
        XCTAssertEqual(manifest.recordingIndexes, ["start_time_1", "site_1_start_time_-1"])
    }
}
