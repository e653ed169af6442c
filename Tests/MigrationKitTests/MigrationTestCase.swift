import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import MigrationKit

/// A fresh database on the shared server per test, and helpers to run migrations written inline.
class MigrationTestCase: XCTestCase {
    var client: MongoClient!
    var database: MongoDatabase!
    var log: [String] = []
    var sentCommands: [Document] = []

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("mig"))
    }

    override func tearDownWithError() throws {
        try? database?.drop()
    }

    static let criticalIndexes = """
        up:
          - create_indexes:
              collection: recordings
              indexes:
                - keys: {end_time: 1}
                - keys: {uuid: 1}
                - keys: {deleted: 1}
        """

    func migration(_ version: Int, _ text: String, title: String = "test") throws -> Migration {
        try Migration(text: text, file: "\(version)_\(title).yml", version: version, title: title, checksum: Migration.sha256(Data(text.utf8)))
    }

    func runner(_ migrations: [Migration], on database: MongoDatabase? = nil, configure: (inout RunnerOptions) -> Void = { _ in }) -> MigrationRunner {
        var options = RunnerOptions(tool: "mongo-audit tests")
        options.log = { [unowned self] in self.log.append($0) }
        options.events = { [unowned self] event in if case .willSend(let command) = event { self.sentCommands.append(command) } }
        configure(&options)
        return MigrationRunner(database: database ?? self.database, migrations: migrations, options: options)
    }

    func indexNames(_ collection: String = "recordings", in database: MongoDatabase? = nil) throws -> Set<String> {
        Set(try (database ?? self.database).collection(collection).listIndexes().map(\.name))
    }

    func records(in database: MongoDatabase? = nil) throws -> [ChangelogRecord] {
        let database = database ?? self.database!
        return try Changelog(database: database, deployment: try Deployment(client: database.client), tool: "").records()
    }

    func statuses(_ migrations: [Migration]) throws -> [MigrationStatus.State] {
        try MigrationPlanner(database: database, migrations: migrations).statuses().map(\.state)
    }

    static let sampleIndexes: Set<String> = ["_id_", "start_time_1", "site_1_start_time_-1"]
    static let migratedIndexes = sampleIndexes.union(["end_time_1", "uuid_1", "deleted_1"])
}
