import ArgumentParser
import Foundation
import MigrationKit

struct MigrateNew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new", abstract: "Create the next migration file, a commented skeleton to fill in.")

    @Option(name: .long, help: "The directory of migration files (created if missing).")
    var dir = "Migrations"

    @Argument(help: "What the migration does, e.g. \"hide legacy index\".")
    var title: String

    func run() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let directory = try MigrationDirectory(path: dir)
        let file = try directory.nextFile(title: title)
        try directory.write(MigrationTemplate.skeleton(title: title), to: file)
        print(file)
    }
}
