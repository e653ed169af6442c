import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import MigrationKit

/// Parsing of migration files alone: the format, derived reverses, and errors that name file and line.
final class MigrationFileTests: XCTestCase {
    func parse(_ text: String, file: String = "0001_test.yml") throws -> Migration {
        let (version, title) = try Migration.versionAndTitle(ofFile: file)
        return try Migration(text: text, file: file, version: version, title: title, checksum: "x")
    }

    func assertSpecError(_ text: String, file: String = "0001_test.yml", line: Int?, contains message: String, _ source: UInt = #line) {
        XCTAssertThrowsError(try parse(text, file: file), line: source) { error in
            guard let error = error as? SpecError else { return XCTFail("not a SpecError: \(error)", line: source) }
            XCTAssertEqual(error.file, file, line: source)
            XCTAssertEqual(error.line, line, "\(error)", line: source)
            XCTAssertTrue(error.description.contains(message), error.description, line: source)
        }
    }

    func testTheSampleMigrationParsesWithItsChecksumAndDerivedReverse() throws {
        let path = repositoryRoot.appendingPathComponent("Migrations/0001_create_critical_indexes.yml").path
        let migration = try Migration.load(path: path)
        XCTAssertEqual(migration.version, 1)
        XCTAssertEqual(migration.title, "create_critical_indexes")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(migration.checksum, Migration.sha256(bytes))
        XCTAssertEqual(migration.checksum.count, 64)
        guard case .createIndexes(let collection, let indexes) = migration.up[0].operation else { return XCTFail() }
        XCTAssertEqual(collection, "recordings")
        XCTAssertEqual(indexes.map(\.name), ["end_time_1", "uuid_1", "deleted_1"])
        XCTAssertFalse(indexes.contains { $0.unique }, "the sample has duplicate uuids")
        XCTAssertTrue(migration.downIsDerived)
        XCTAssertEqual(migration.down.map(\.operation), ["deleted_1", "uuid_1", "end_time_1"].map { .dropIndex(collection: "recordings", name: $0) })
    }

    func testEveryOperationAndIndexOption() throws {
        let migration = try parse(
            """
            up:
              - create_indexes:
                  collection: sessions
                  indexes:
                    - {keys: {expires_at: 1}, name: ttl, expire_after_seconds: 3600, partial_filter: {deleted: false}}
                    - {keys: {user: 1, site: -1}, unique: true, sparse: true, collation: {locale: en, strength: 2}, hidden: true}
              - hide_index: {collection: sessions, name: legacy_1}
              - unhide_index: {collection: sessions, name: other_1}
              - drop_index: {collection: sessions, name: old_1}
              - set_validator:
                  collection: sessions
                  level: moderate
                  action: warn
                  json_schema: {required: [user], properties: {user: {bsonType: string}}}
            down:
              - set_validator: {collection: sessions, json_schema: {}}
              - create_indexes: {collection: sessions, indexes: [{keys: {old: 1}, name: old_1}]}
            """)
        guard case .createIndexes(_, let indexes) = migration.up[0].operation else { return XCTFail() }
        XCTAssertEqual(indexes[0].expireAfterSeconds, 3600)
        XCTAssertEqual(indexes[0].partialFilterExpression, ["deleted": false])
        XCTAssertTrue(indexes[1].unique && indexes[1].sparse && indexes[1].hidden)
        XCTAssertEqual(indexes[1].name, "user_1_site_-1")
        XCTAssertEqual(migration.up[0].line, 2)
        let command = migration.up[0].operation.command(commitQuorum: "majority")
        XCTAssertEqual(command["commitQuorum"], "majority")
        XCTAssertFalse(command.relaxedJSON.contains("background"), "never sends background")
        XCTAssertEqual(migration.up[1].operation.command(), ["collMod": "sessions", "index": ["name": "legacy_1", "hidden": true]])
        XCTAssertEqual(migration.up[4].operation.command()["validationLevel"], "moderate")
        XCTAssertEqual(migration.up[4].operation.command()["validator"]?.documentValue?.keys, ["$jsonSchema"])
        XCTAssertEqual(migration.down[0].operation.command()["validator"], .document([:]), "an empty schema removes the validator")
        XCTAssertFalse(migration.downIsDerived)
        XCTAssertEqual(MigrationOperation.hideIndex(collection: "c", name: "i").derivedReverse, [.unhideIndex(collection: "c", name: "i")])
    }

    func testMalformedFilesNameFileAndLine() {
        assertSpecError("up:\n  - create_indexes: {collection: r, indexes: [{keys: {a: 1}}]\n", line: 3, contains: "invalid YAML")
        assertSpecError("up:\n  - create_indexs: {collection: r}\n", line: 2, contains: "unknown field; expected one of: create_indexes")
        assertSpecError("up:\n  - drop_index: {collection: r, name: a_1}\n", line: 2, contains: "drop_index cannot be reversed by itself; add a `down:`")
        assertSpecError(
            "up:\n  - hide_index: {collection: r, name: a_1}\n  - set_validator: {collection: r, json_schema: {required: [a]}}\n",
            line: 3, contains: "set_validator cannot be reversed")
        assertSpecError(
            "up:\n  - create_indexes:\n      collection: r\n      indexes:\n        - {keys: {a: 1}, uniqe: true}\n", line: 5,
            contains: "up[0].create_indexes.indexes[0].uniqe: unknown field")
        assertSpecError("up: []\n", line: 1, contains: "list at least one operation")
        assertSpecError(
            "up:\n  - create_indexes: {collection: r, indexes: [{keys: {a: 1}}]}\n  - create_indexes: {collection: r, indexes: [{keys: {b: 1}}]}\n",
            line: 3, contains: "a second create_indexes for 'r' (the first is on line 2)")
        assertSpecError("up:\n  - set_validator: {collection: r, json_schema: {}, level: hard}\n", line: 2, contains: "expected one of: off, strict, moderate")
        assertSpecError(
            "up:\n  - create_indexes: {collection: r, indexes: [{keys: {a: 1}}]}\n", file: "first_test.yml", line: nil, contains: "must be a version number")
        assertSpecError(
            "up:\n  - create_indexes: {collection: r, indexes: [{keys: {a: 1}}]}\n", file: "0001.yml", line: nil, contains: "must be a version number")
    }

    func testDuplicateVersionsInADirectoryNameBothFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let body = "up:\n  - create_indexes: {collection: r, indexes: [{keys: {a: 1}}]}\n"
        try body.write(to: directory.appendingPathComponent("0001_a.yml"), atomically: true, encoding: .utf8)
        try body.write(to: directory.appendingPathComponent("1_b.yml"), atomically: true, encoding: .utf8)
        try "notes".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MigrationDirectory(path: directory.path)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("1_b.yml") && text.contains("0001_a.yml") && text.contains("version 1"), text)
        }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("1_b.yml"))
        let loaded = try MigrationDirectory(path: directory.path)
        XCTAssertEqual(loaded.migrations.map(\.version), [1])
        XCTAssertEqual((try loaded.nextFile(title: "Hide legacy index!") as NSString).lastPathComponent, "0002_hide_legacy_index.yml")
    }

    func testEmittedTextReadsBackAsTheSameIndexes() throws {
        let indexes = [
            IndexSpec(keys: [IndexKey(field: "end_time", direction: 1)]),
            IndexSpec(
                keys: [IndexKey(field: "site", direction: 1), IndexKey(field: "start_time", direction: -1)], name: "by site",
                unique: true, partialFilterExpression: ["deleted": false], expireAfterSeconds: 60, collation: ["locale": "en"]),
        ]
        let text = MigrationTemplate.createIndexes([("recordings", indexes)], description: "from: the audit")
        let migration = try parse(text)
        XCTAssertEqual(migration.up.map(\.operation), [.createIndexes(collection: "recordings", indexes: indexes)], text)
        XCTAssertThrowsError(try parse(MigrationTemplate.skeleton(title: "new one")), "a fresh skeleton needs an operation first")
    }
}
