import ArgumentParser
import MigrationKit

struct MigrateDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Reverse the last recorded migration, or every one above --to, newest first.",
        discussion: "A derived reverse drops only the indexes the migration created, not ones that existed before it.")

    @OptionGroup var target: MigrationTarget
    @OptionGroup var lock: LockOptions

    @Option(name: .long, help: "Reverse every migration above this version (0 reverses all).")
    var to: Int?

    func run() throws {
        let migrations = try target.migrations()
        let runner = MigrationRunner(database: try target.connect(), migrations: migrations, options: lock.runnerOptions())
        try reportingMigrationErrors { try runner.down(to: to) }
    }
}
