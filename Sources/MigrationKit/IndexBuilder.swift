import Foundation
import MongoKit

/// How the wanted indexes of one `create_indexes` stand against the server's.
struct IndexInspection {
    var missing: [IndexSpec] = []
    /// Exist with the same spec: a recorded no-op.
    var existing: [IndexSpec] = []
    /// Being built already (a build that survived a crash or failover): waited for, never started twice.
    var building: [IndexSpec] = []
    /// Same name with another spec, or same spec under another name: never dropped and rebuilt.
    var conflicts: [String] = []
}

/// Builds the indexes of one `create_indexes` step safely: existing identical indexes are left alone,
/// conflicts stop the step with what differs, unique indexes are checked for duplicates first, builds in
/// progress are waited for, and what is missing goes to the server in one `createIndexes` command.
struct IndexBuilder {
    let database: MongoDatabase
    let commitQuorum: BSONValue?
    let progress: (@Sendable (String) -> Void)?
    let events: (RunnerEvent) -> Void
    var pollInterval: TimeInterval = 0.5

    static func inspect(_ collection: MongoCollection, wanted: [IndexSpec]) throws -> IndexInspection {
        let (ready, building) = try collection.indexesIncludingBuilds()
        var result = IndexInspection()
        for index in wanted {
            if let same = ready.first(where: { $0.name == index.name }) ?? building.first(where: { $0.name == index.name }) {
                let differences = same.differences(from: index)
                if !differences.isEmpty {
                    result.conflicts.append(
                        "index '\(index.name)' on \(collection.name) exists with a different spec (\(differences.joined(separator: "; "))); "
                            + "it is not dropped and rebuilt: drop it in a migration of its own, or give the new index another name")
                } else if building.contains(where: { $0.name == index.name }) {
                    result.building.append(index)
                } else {
                    result.existing.append(index)
                }
            } else if let twin = ready.first(where: { $0.name != index.name && $0.differences(from: index).isEmpty }) {
                result.conflicts.append(
                    "\(collection.name) has this index already under the name '\(twin.name)'; name it '\(twin.name)' in the migration or drop '\(twin.name)' first"
                )
            } else {
                result.missing.append(index)
            }
        }
        return result
    }

    /// Runs the step; returns what it did, one line per kind of outcome. `preexisting` are the indexes that
    /// were there before the migration's first attempt; other existing ones were built by an interrupted attempt.
    func build(collection name: String, wanted: [IndexSpec], preexisting: Set<String>) throws -> [String] {
        let collection = database.collection(name)
        var outcome: [String] = []
        var inspection = try Self.inspect(collection, wanted: wanted)
        let awaited = inspection.building.map(\.name)
        if !awaited.isEmpty {
            let names = awaited
            events(.waitingForBuild(collection: name, indexes: names))
            try waitForBuilds(of: collection, names: names)
            outcome.append("\(name): waited for the build of \(names.joined(separator: ", ")) already in progress")
            inspection = try Self.inspect(collection, wanted: wanted)
        }
        guard inspection.conflicts.isEmpty else { throw IndexBuildError(message: inspection.conflicts.joined(separator: "\n")) }
        if !inspection.existing.isEmpty {
            let names = inspection.existing.map(\.name).filter { !awaited.contains($0) }
            let before = names.filter { preexisting.contains($0) }
            let resumed = names.filter { !preexisting.contains($0) }
            if !before.isEmpty { outcome.append("\(name): \(before.joined(separator: ", ")) existed with the same spec (no-op)") }
            if !resumed.isEmpty { outcome.append("\(name): \(resumed.joined(separator: ", ")) built by the interrupted attempt (no-op)") }
        }
        guard !inspection.missing.isEmpty else { return outcome }
        for index in inspection.missing where index.unique {
            let duplicates = try DuplicateFinder.examples(in: collection, for: index)
            if !duplicates.isEmpty {
                throw IndexBuildError(
                    message: "unique index '\(index.name)' on \(name) cannot be built: duplicate values exist, for example\n  "
                        + duplicates.joined(separator: "\n  ") + "\nremove the duplicates, or drop `unique` from the index")
            }
        }
        let command = MigrationOperation.createIndexes(collection: name, indexes: inspection.missing).command(commitQuorum: commitQuorum)
        events(.willSend(command))
        try withProgress(of: collection) { _ = try database.runCommand(command) }
        events(.sent(command))
        outcome.append("\(name): created \(inspection.missing.map(\.name).joined(separator: ", "))")
        return outcome
    }

    /// Polls until none of `names` is still being built (it finished, or was aborted).
    private func waitForBuilds(of collection: MongoCollection, names: [String]) throws {
        try withProgress(of: collection) {
            while try collection.indexesIncludingBuilds().building.contains(where: { names.contains($0.name) }) {
                Thread.sleep(forTimeInterval: pollInterval)
            }
        }
    }

    /// Shows the server's own progress figures for builds on `collection` while `body` runs (terminal only).
    private func withProgress(of collection: MongoCollection, _ body: () throws -> Void) throws {
        guard let progress else { return try body() }
        let client = database.client
        let filter: Document = [
            "$or": [["command.createIndexes": .string(collection.name)], ["ns": .string(collection.namespace)]],
            "progress": ["$exists": true],
        ]
        let namespace = collection.name
        let heartbeat = Heartbeat(interval: 1) {
            guard let op = (try? client.currentOperations(matching: filter))?.first,
                let figures = op["progress"]?.documentValue, let done = figures["done"]?.doubleValue,
                let total = figures["total"]?.doubleValue, total > 0
            else { return }
            let phase = op["msg"]?.stringValue?.components(separatedBy: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? "building"
            progress(String(format: "%@: %@ %.0f%% (%.0f/%.0f)", namespace, phase, done / total * 100, done, total))
        }
        defer {
            heartbeat.stop()
            progress("")
        }
        try body()
    }
}

/// A step that cannot succeed as written, whatever the server's state: recorded as failed.
struct IndexBuildError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
