import ArgumentParser
import Foundation
import MigrationKit
import MongoKit

/// For scripts/bench-migrate: the four critical indexes built by `apply` against the same `createIndexes`
/// sent directly, on the sample `recordings` collection. Hidden: a measurement, not a user command.
struct MigrateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time apply against a direct createIndexes (scripts/bench-migrate).", shouldDisplay: false)

    @OptionGroup var target: MigrationTarget

    @Option(name: .long, help: "How many times to build each way.")
    var rounds = 2

    static let migration = """
        up:
          - create_indexes:
              collection: recordings
              indexes: [{keys: {start_time: 1}}, {keys: {end_time: 1}}, {keys: {uuid: 1}}, {keys: {deleted: 1}}]
        """

    func run() throws {
        let database = try target.connect()
        let recordings = database.collection("recordings")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("0001_bench.yml").path
        try Self.migration.write(toFile: file, atomically: true, encoding: .utf8)
        let migration = try Migration.load(path: file)
        guard case .createIndexes(_, let indexes) = migration.up[0].operation else { return }
        var options = RunnerOptions(tool: "mongo-audit bench")
        options.log = { _ in }
        let runner = MigrationRunner(database: database, migrations: [migration], options: options)

        func dropIndexes() throws {
            for index in indexes { _ = try? recordings.dropIndex(named: index.name) }
        }
        func timed(_ body: () throws -> Void) throws -> Double {
            let started = Date()
            try body()
            return Date().timeIntervalSince(started)
        }
        print("recordings: \(try recordings.estimatedDocumentCount()) documents; building \(indexes.map(\.name).joined(separator: ", "))")
        var direct: [Double] = []
        var applied: [Double] = []
        for round in 1...rounds {
            try runner.down(to: 0)
            try dropIndexes()
            direct.append(try timed { try recordings.createIndexes(indexes) })
            try dropIndexes()
            applied.append(try timed { try runner.apply() })
            print(String(format: "round %d: direct createIndexes %.2f s, migrate apply %.2f s", round, direct.last!, applied.last!))
        }
        try runner.down(to: 0)
        let best = (direct.min()!, applied.min()!)
        print(String(format: "best: direct %.2f s, apply %.2f s, ratio apply/direct %.3f", best.0, best.1, best.1 / best.0))
    }
}
