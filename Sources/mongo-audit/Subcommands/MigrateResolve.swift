import ArgumentParser
import MigrationKit
import TextEscaping

struct MigrateResolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Settle a migration apply refuses to pass: retry a failed or interrupted one, or accept a changed file.")

    @OptionGroup var target: MigrationTarget
    @OptionGroup var lock: LockOptions

    @Argument(help: "The version to settle.")
    var version: Int

    func run() throws {
        let migrations = try target.migrations()
        let runner = MigrationRunner(database: try target.connect(), migrations: migrations, options: lock.runnerOptions())
        try reportingMigrationErrors {
            let resolution = try runner.resolve(version: version)
            if case .forgotRecord(let version, let state) = resolution {
                print(
                    "forgot the \(state.rawValue) record of migration \(version); `mongo-audit migrate apply` runs it again "
                        + "(its operations skip what is already done)")
            } else {
                print(Escape.terminal(resolution.description))
            }
        }
    }
}
