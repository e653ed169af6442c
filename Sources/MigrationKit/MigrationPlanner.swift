import Foundation
import MongoKit
import TextEscaping

/// Describes, read-only, what `apply` would do: for each pending migration the exact commands and what each
/// changes, checked against the server's current indexes.
public struct MigrationPlanner {
    let database: MongoDatabase
    let migrations: [Migration]
    let commitQuorum: BSONValue?

    public init(database: MongoDatabase, migrations: [Migration], commitQuorum: BSONValue? = nil) {
        self.database = database
        self.migrations = migrations
        self.commitQuorum = commitQuorum
    }

    public func statuses() throws -> [MigrationStatus] {
        let records = try MongoMigrationStore(database: database, tool: "").records()
        return MigrationStatus.all(migrations: migrations, records: records)
    }

    /// The plan as text, for the migrations `apply --to target` would run.
    public func plan(to target: Int? = nil) throws -> String {
        let statuses = try statuses()
        var lines: [String] = []
        if let blocking = statuses.first(where: \.needsAttention) {
            lines.append("apply would stop: migration \(blocking.version) is \(blocking.state.rawValue)")
        }
        let pending = statuses.filter { ($0.state == .pending || $0.state == .interrupted) && $0.version <= (target ?? .max) }
        guard !pending.isEmpty else { return (lines + ["nothing to apply"]).joined(separator: "\n") + "\n" }
        for status in pending {
            guard let migration = status.migration else { continue }
            let resuming = status.state == .interrupted ? ", interrupted earlier: apply resumes it" : ""
            lines.append("migration \(migration.version) \(migration.title) (\(migration.file))\(resuming)")
            // A description may run over several lines; each is a line of the plan.
            if let description = migration.description { lines += "  \(description)".components(separatedBy: "\n") }
            for (index, step) in migration.up.enumerated() {
                lines += try describe(step.operation, number: index + 1)
            }
            lines.append("  then records it in \(database.name).\(Changelog.collectionName) (checksum \(migration.checksum.prefix(12)))")
            lines.append(
                "  down: " + (migration.downIsDerived ? "derived, " : "written, ")
                    + migration.down.map(\.operation.summary).joined(separator: "; "))
        }
        lines.append("(the commands are checked against the server as it is now; earlier migrations of this plan may change it)")
        // Titles, file names and collection and index names are untrusted: each line is escaped as a whole.
        return lines.map(Escape.terminal).joined(separator: "\n") + "\n"
    }

    private func describe(_ operation: MigrationOperation, number: Int) throws -> [String] {
        var lines = ["  \(number). \(operation.summary)"]
        var command = operation.command(commitQuorum: commitQuorum)
        if case .createIndexes(let name, let indexes) = operation {
            let collection = database.collection(name)
            let inspection = try IndexBuilder.inspect(collection, wanted: indexes)
            for conflict in inspection.conflicts { lines.append("     STOPS: \(conflict)") }
            if !inspection.existing.isEmpty {
                lines.append("     no-op for \(inspection.existing.map(\.name).joined(separator: ", ")): exists with the same spec")
            }
            if !inspection.building.isEmpty {
                lines.append("     waits for \(inspection.building.map(\.name).joined(separator: ", ")): being built now")
            }
            for index in inspection.missing where index.unique {
                lines.append("     checks \(name) for duplicate \(index.keys.map(\.field).joined(separator: ", ")) values before building \(index.name)")
            }
            guard !inspection.missing.isEmpty else { return lines }
            command = MigrationOperation.createIndexes(collection: name, indexes: inspection.missing).command(commitQuorum: commitQuorum)
            let documents = (try? collection.estimatedDocumentCount()) ?? 0
            lines.append("     builds over about \(documents) documents")
        }
        // Database names cannot hold quotes or backslashes, so plain quoting is exact.
        lines.append("     db.getSiblingDB(\(Escape.mongoshString(database.name))).runCommand(\(command.relaxedJSON))")
        return lines
    }
}
