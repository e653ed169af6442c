import Foundation
import MongoKit

/// The record of applied migrations, one document per version (`_id` = version) in a collection of the
/// target database. A migration's document is written with `state: applying, dirty: true` before its
/// first command and finished in one update afterwards, so a crash leaves a visible dirty record.
package struct Changelog {
    package static let collectionName = "mongo_audit_migrations"

    let database: MongoDatabase
    let deployment: Deployment
    let tool: String

    var collection: MongoCollection { database.collection(Self.collectionName) }

    package init(database: MongoDatabase, deployment: Deployment, tool: String) {
        self.database = database
        self.deployment = deployment
        self.tool = tool
    }

    package func records() throws -> [ChangelogRecord] {
        try collection.find(["_id": ["$exists": true]], options: FindOptions(sort: ["_id": 1])) { try $0.all() }
            .map(ChangelogRecord.init(document:))
    }

    /// Marks a migration as started (the dirty marker), keeping what an interrupted earlier attempt learnt.
    func markStarted(_ migration: Migration, state: ChangelogRecord.State) throws {
        try update(
            migration.version, upsert: true,
            [
                "$set": [
                    "version": .int64(Int64(migration.version)), "title": .string(migration.title), "file": .string(migration.file),
                    "checksum": .string(migration.checksum),
                    "state": .string(state.rawValue), "dirty": true, "startedAt": .datetime(Date()), "host": .string(deployment.host),
                    "pid": .int64(Int64(deployment.pid)), "tool": .string(tool),
                ],
                "$unset": ["error": "", "finishedAt": "", "durationSeconds": ""],
            ])
    }

    /// Remembers the indexes a `create_indexes` step found in place, before it sends its command.
    func recordPreexisting(_ version: Int, step: Int, names: [String]) throws {
        try update(version, ["$set": .document(Document([("preexisting.\(step)", .array(names.map(BSONValue.string)))]))])
    }

    func markApplied(_ migration: Migration, startedAt: Date, outcome: [String]) throws {
        try update(
            migration.version,
            [
                "$set": [
                    "state": "applied", "dirty": false, "finishedAt": .datetime(Date()),
                    "durationSeconds": .double(Date().timeIntervalSince(startedAt)), "outcome": .array(outcome.map(BSONValue.string)),
                ]
            ])
    }

    func markFailed(_ version: Int, startedAt: Date, error: String, outcome: [String]) throws {
        try update(
            version,
            [
                "$set": [
                    "state": "failed", "dirty": true, "finishedAt": .datetime(Date()), "error": .string(error),
                    "durationSeconds": .double(Date().timeIntervalSince(startedAt)), "outcome": .array(outcome.map(BSONValue.string)),
                ]
            ])
    }

    /// The dirty marker of a `down`: the record stays until the reverse is done.
    func markReverting(_ version: Int) throws {
        try update(
            version,
            [
                "$set": ["state": "reverting", "dirty": true, "host": .string(deployment.host), "pid": .int64(Int64(deployment.pid))]
            ])
    }

    /// Accepts the file as it is now for an applied migration whose file changed.
    func acceptChecksum(_ version: Int, checksum: String) throws {
        try update(version, ["$set": ["checksum": .string(checksum)]])
    }

    /// Forgets a migration: after `down`, or when the user decides to retry a failed one.
    func remove(_ version: Int) throws {
        try database.runWriteCommand(
            deployment.withWriteConcern([
                "delete": .string(Self.collectionName), "deletes": [["q": ["_id": .int64(Int64(version))], "limit": 1]],
            ]))
    }

    private func update(_ version: Int, upsert: Bool = false, _ change: Document) throws {
        try database.runWriteCommand(
            deployment.withWriteConcern([
                "update": .string(Self.collectionName),
                "updates": [["q": ["_id": .int64(Int64(version))], "u": .document(change), "upsert": .bool(upsert)]],
            ]))
    }
}
