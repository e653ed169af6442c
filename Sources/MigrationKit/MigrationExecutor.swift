import Foundation
import MongoKit

/// What carries out a migration's operations. Each call must be safe to repeat: the runner repeats it
/// after a transient error, and resumes an interrupted migration from its first step.
public protocol MigrationExecutor {
    /// Checks, before the lock is taken, that the operations can run here at all.
    func prepare() throws
    /// The names among `wanted` that exist already on `collection` (a derived `down` keeps those).
    func existingIndexes(collection: String, wanted: [IndexSpec]) throws -> [String]
    /// Runs one operation and says what it did, one line per kind of outcome.
    /// `preexisting`: indexes there before the migration; a derived drop (`derived`) keeps them.
    func execute(_ operation: MigrationOperation, preexisting: Set<String>, derived: Bool) throws -> [String]
}

/// Runs the operations as commands on the target database, with the checks that make each safe to repeat.
package struct MongoMigrationExecutor: MigrationExecutor {
    package let database: MongoDatabase
    let commitQuorum: BSONValue?
    let progress: (@Sendable (String) -> Void)?
    let events: (RunnerEvent) -> Void

    package init(database: MongoDatabase, options: RunnerOptions) {
        self.database = database
        commitQuorum = options.commitQuorum
        progress = options.progress
        events = options.events
    }

    package func prepare() throws {
        if commitQuorum != nil, try !Deployment(client: database.client).isReplicaSet {
            throw MigrationError.commitQuorumNeedsReplicaSet
        }
    }

    package func existingIndexes(collection: String, wanted: [IndexSpec]) throws -> [String] {
        try IndexBuilder.inspect(database.collection(collection), wanted: wanted).existing.map(\.name)
    }

    package func execute(_ operation: MigrationOperation, preexisting: Set<String>, derived: Bool) throws -> [String] {
        switch operation {
        case .createIndexes(let collection, let indexes):
            let builder = IndexBuilder(database: database, commitQuorum: commitQuorum, progress: progress, events: events)
            return try builder.build(collection: collection, wanted: indexes, preexisting: preexisting)
        case .dropIndex(let collection, let name):
            if derived, preexisting.contains(name) { return ["\(collection): kept \(name), it existed before the migration"] }
            do {
                try send(operation.command())
                return ["\(collection): dropped \(name)"]
            } catch MongoError.command(let error) where error.code == 27 || error.code == 26 {  // IndexNotFound, NamespaceNotFound
                return ["\(collection): \(name) does not exist (no-op)"]
            }
        case .hideIndex, .unhideIndex, .setValidator:
            do {
                try send(operation.command())
            } catch MongoError.command(let error) where error.code == 26 && isSetValidator(operation) {  // NamespaceNotFound
                // The collection does not exist yet: create it with the validator.
                var create = operation.command()
                create.set("collMod", nil)
                try send(Document([("create", .string(operation.collection))] + create.elements))
            }
            return [operation.summary]
        }
    }

    private func isSetValidator(_ operation: MigrationOperation) -> Bool {
        if case .setValidator = operation { return true }
        return false
    }

    private func send(_ command: Document) throws {
        events(.willSend(command))
        try database.runCommand(command)
        events(.sent(command))
    }
}
