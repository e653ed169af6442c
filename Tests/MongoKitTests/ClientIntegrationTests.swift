import Foundation
import TestSupport
import XCTest

@testable import MongoKit

/// MongoKit against a real mongod: the shared server of the test run, or servers the test starts itself.
final class ClientIntegrationTests: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("mongokit"))
    }

    override func tearDownWithError() throws {
        try database?.drop()
    }

    func testPingAndServerVersion() throws {
        XCTAssertEqual(try client.ping()["ok"]?.doubleValue, 1)
        let version = try client.serverVersion()
        XCTAssertTrue(version.first.map { $0.isNumber } ?? false, version)
    }

    func testListCollectionsReportsTypesValidatorsAndViews() throws {
        try database.runCommand(["create": "recordings", "validator": ["$jsonSchema": ["bsonType": "object", "required": ["uuid"]]]])
        try database.runCommand(["create": "metadata"])
        try database.runCommand(["create": "live_recordings", "viewOn": "recordings", "pipeline": [["$match": ["end_time": .null]]]])
        let infos = Dictionary(uniqueKeysWithValues: try database.listCollections().map { ($0.name, $0) })
        XCTAssertEqual(infos["recordings"]?.kind, .collection)
        XCTAssertEqual(infos["recordings"]?.validator?.value(at: "$jsonSchema.required.0"), "uuid")
        XCTAssertEqual(infos["metadata"]?.kind, .collection)
        XCTAssertNil(infos["metadata"]?.validator)
        XCTAssertEqual(infos["live_recordings"]?.kind, .view)
        XCTAssertEqual(infos["live_recordings"]?.viewOn, "recordings")
        let filtered = try database.listCollections(filter: ["type": "view"])
        XCTAssertEqual(filtered.map(\.name), ["live_recordings"])
    }

    func testFullIndexSpecsReadBackExactly() throws {
        let recordings = database.collection("recordings")
        try recordings.insertOne(["uuid": "a", "start_time": .datetime(Date()), "deleted": false])
        let wanted = [
            IndexSpec(
                keys: [IndexKey(field: "uuid", direction: 1)], name: "uuid_live_unique", unique: true,
                partialFilterExpression: ["deleted": false]),
            IndexSpec(keys: [IndexKey(field: "start_time", direction: -1), IndexKey(field: "site", direction: 1)]),
            IndexSpec(keys: [IndexKey(field: "expires_at", direction: 1)], expireAfterSeconds: 3600),
            IndexSpec(keys: [IndexKey(field: "end_time", direction: 1)], hidden: true),
            IndexSpec(keys: [IndexKey(field: "name", direction: 1)], sparse: true, collation: ["locale": "en", "strength": 2]),
        ]
        try recordings.createIndexes(wanted)
        let actual = Dictionary(uniqueKeysWithValues: try recordings.listIndexes().map { ($0.name, $0) })
        XCTAssertEqual(actual.count, 6, "the five plus _id_")
        XCTAssertTrue(actual["_id_"]?.isIDIndex ?? false)

        let partial = try XCTUnwrap(actual["uuid_live_unique"])
        XCTAssertEqual(partial.keys, [IndexKey(field: "uuid", direction: 1)])
        XCTAssertTrue(partial.unique)
        XCTAssertEqual(partial.partialFilterExpression, ["deleted": false])

        let descending = try XCTUnwrap(actual["start_time_-1_site_1"])
        XCTAssertEqual(descending.keys.map(\.description), ["start_time: -1", "site: 1"], "key order and direction")
        XCTAssertFalse(descending.unique)

        XCTAssertEqual(actual["expires_at_1"]?.expireAfterSeconds, 3600)
        XCTAssertEqual(actual["end_time_1"]?.hidden, true)
        XCTAssertEqual(actual["start_time_-1_site_1"]?.hidden, false)

        let collated = try XCTUnwrap(actual["name_1"])
        XCTAssertTrue(collated.sparse)
        XCTAssertEqual(collated.collation?["locale"], "en")
        XCTAssertEqual(collated.collation?["strength"]?.intValue, 2)
    }

    func testCreateIsIdempotentAndDropRemovesOnlyTheNamedIndexes() throws {
        let recordings = database.collection("recordings")
        let specs = ["end_time", "uuid", "deleted"].map { IndexSpec(keys: [IndexKey(field: $0, direction: 1)]) }
        try recordings.createIndexes(specs)
        let again = try recordings.createIndexes(specs)
        XCTAssertEqual(again["numIndexesBefore"]?.intValue, again["numIndexesAfter"]?.intValue, "same spec again is a no-op")
        try recordings.dropIndex(named: "uuid_1")
        XCTAssertEqual(Set(try recordings.listIndexes().map(\.name)), ["_id_", "end_time_1", "deleted_1"])
        try recordings.dropIndexes(named: ["end_time_1", "deleted_1"])
        XCTAssertEqual(try recordings.listIndexes().map(\.name), ["_id_"])
        XCTAssertThrowsError(try recordings.dropIndex(named: "no_such_index")) { error in
            XCTAssertEqual((error as? MongoError)?.codeName, "IndexNotFound")
        }
    }

    func testCursorOverOneHundredThousandDocumentsIsLazyAndAlwaysClosed() throws {
        let scan = database.collection("scan")
        let total = 100_000
        for start in stride(from: 0, to: total, by: 10_000) {
            try scan.insertMany((start..<start + 10_000).map { ["n": .int64(Int64($0)), "channels": ["min": 1, "max": .int32(Int32($0 % 1000))]] })
        }
        // Read every document through the raw view: only the fields asked for become Swift values.
        var count = 0
        var sum: Int64 = 0
        try scan.find(options: FindOptions(batchSize: 1_000)) { cursor in
            try cursor.forEachView { view in
                count += 1
                if case .int64(let n)? = view.value(at: "n") { sum += n }
                XCTAssertEqual(view.type(at: "channels.max"), .int32)
            }
        }
        XCTAssertEqual(count, total)
        XCTAssertEqual(sum, Int64(total * (total - 1) / 2))

        // Stop after a few documents: the server holds an open cursor while we iterate (lazy), none afterwards.
        let openWhileIterating = try scan.find(options: FindOptions(batchSize: 100)) { cursor -> Int in
            for _ in 0..<5 { XCTAssertNotNil(try cursor.next()) }
            return try idleCursors(on: scan)
        }
        XCTAssertEqual(openWhileIterating, 1)
        XCTAssertEqual(try idleCursors(on: scan), 0, "the cursor was killed when its scope ended")

        let aggregated = try scan.aggregate([["$group": ["_id": .null, "count": ["$sum": 1]]]]) { try $0.all() }
        XCTAssertEqual(aggregated.first?["count"]?.intValue, total)
    }

    /// The prefetching scan reads ahead on a second thread: every document arrives once and in order, an
    /// early stop leaves no cursor open, and an error raised on the reading thread reaches the caller.
    func testPrefetchingScanKeepsOrderStopsEarlyAndPassesErrorsOn() throws {
        let scan = database.collection("prefetch")
        let total = 20_000
        try scan.insertMany((0..<total).map { ["_id": .int32(Int32($0)), "d": .int32($0 == 15_000 ? 0 : 1)] })
        var seen: [Int] = []
        try scan.find(options: FindOptions(sort: ["_id": 1], batchSize: 500)) { cursor in
            try cursor.forEachViewPrefetched { view in
                seen.append(view.value(at: "_id")?.intValue ?? -1)
                return true
            }
        }
        XCTAssertEqual(seen, Array(0..<total))

        var visited = 0
        try scan.find(options: FindOptions(batchSize: 500)) { cursor in
            try cursor.forEachViewPrefetched { _ in
                visited += 1
                return visited < 1_200
            }
        }
        XCTAssertEqual(visited, 1_200)
        XCTAssertEqual(try idleCursors(on: scan), 0, "stopping early closed the server cursor")

        // Dividing by the one zero fails in a getMore, long after the first batch: on the reading thread.
        visited = 0
        let failing: Document = ["$expr": ["$gt": [["$divide": [1, "$d"]], 0]]]
        XCTAssertThrowsError(
            try scan.find(failing, options: FindOptions(sort: ["_id": 1], batchSize: 500)) { cursor in
                try cursor.forEachViewPrefetched { _ in
                    visited += 1
                    return true
                }
            }
        ) { error in
            guard case MongoError.command = error else { return XCTFail("\(error)") }
        }
        XCTAssertGreaterThan(visited, 10_000, "the documents before the failing batch were all delivered")
        XCTAssertLessThanOrEqual(visited, 15_000)
    }

    private func idleCursors(on collection: MongoCollection) throws -> Int {
        let reply = try client.database("admin").runCommand([
            "aggregate": 1,
            "pipeline": [["$currentOp": ["idleCursors": true]], ["$match": ["type": "idleCursor", "ns": .string(collection.namespace)]]],
            "cursor": [:],
        ])
        return reply.value(at: "cursor.firstBatch")?.arrayValue?.count ?? -1
    }

    func testThePoolServesConcurrentThreads() throws {
        let collection = database.collection("concurrent")
        try collection.insertMany((0..<500).map { ["i": .int32(Int32($0))] })
        let counts = CountsByThread(count: 16)
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            counts.set(index, (try? collection.countDocuments(["i": ["$gte": .int32(Int32(index))]])) ?? -1)
        }
        XCTAssertEqual(counts.values, (0..<16).map { 500 - $0 })
    }

    func testReadPreferenceAndMaxTimeMSApplyPerOperation() throws {
        let slow = database.collection("slow")
        try slow.insertMany((0..<20).map { ["i": .int32(Int32($0))] })
        let read = try slow.find(options: FindOptions(readPreference: .secondaryPreferred)) { try $0.all() }
        XCTAssertEqual(read.count, 20)
        // Each document sleeps 50 ms on the server; a 100 ms limit must expire.
        XCTAssertThrowsError(
            try slow.find(["$where": "sleep(50) || true"], options: FindOptions(maxTimeMS: 100)) { try $0.all() }
        ) { error in
            guard case MongoError.timeout(let message) = error else { return XCTFail("expected a timeout, got \(error)") }
            XCTAssertTrue(message.localizedCaseInsensitiveContains("time"), message)
        }
        XCTAssertThrowsError(try database.runCommand(["count": "slow", "query": ["$where": "sleep(50) || true"]], maxTimeMS: 100)) {
            guard case MongoError.timeout = $0 else { return XCTFail("\($0)") }
        }
    }

    func testCommandErrorsCarryCodeAndCodeName() throws {
        XCTAssertThrowsError(try database.runCommand(["noSuchCommand": 1])) { error in
            guard case MongoError.command(let server) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(server.code, 59)
            XCTAssertEqual(server.codeName, "CommandNotFound")
            XCTAssertEqual(server.kind, .command)
        }
    }

    func testInvalidURIAndUnreachableServerAreTheirOwnErrors() throws {
        XCTAssertThrowsError(try MongoClient(uri: "postgres://user:hunter2@host/db")) { error in
            guard case MongoError.invalidURI(let message) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(message.contains("hunter2"))
        }
        let unreachable = try MongoClient(uri: "mongodb://user:hunter2@127.0.0.1:9/?serverSelectionTimeoutMS=300")
        XCTAssertThrowsError(try unreachable.ping()) { error in
            guard case MongoError.serverSelection = error else { return XCTFail("\(error)") }
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }

    func testWrongPasswordIsAnAuthenticationErrorWithoutThePassword() throws {
        let server = try LaunchedMongod(arguments: ["--auth"])
        defer { server.stop() }
        // The localhost exception lets the first user be created without credentials.
        try server.client().database("admin").runCommand(["createUser": "admin", "pwd": "right-pass", "roles": ["root"]])
        XCTAssertEqual(try server.client(user: "admin", password: "right-pass").ping()["ok"]?.doubleValue, 1)

        let secret = "Wr0ng-S3cret!"
        let wrong = try server.client(user: "admin", password: secret)
        XCTAssertThrowsError(try wrong.ping()) { error in
            guard case MongoError.authentication = error else { return XCTFail("expected authentication, got \(error)") }
            XCTAssertFalse("\(error)".contains(secret))
        }
        XCTAssertFalse(wrong.redactedURI.contains(secret))
    }
}

/// One slot per thread, written under a lock.
final class CountsByThread: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Int]

    init(count: Int) { slots = Array(repeating: 0, count: count) }

    func set(_ index: Int, _ value: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
