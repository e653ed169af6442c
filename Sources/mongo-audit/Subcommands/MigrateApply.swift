import ArgumentParser
import MigrationKit

struct MigrateApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply the pending migrations in version order, recording each; resumes one a crash interrupted.",
        discussion: """
            Stops before a failed or changed migration until it is settled (`migrate resolve`, `migrate down`,
            or restoring the file). Exit 6 when a migration fails or another runner holds the lock.
            """)

    @OptionGroup var target: MigrationTarget
    @OptionGroup var lock: LockOptions

    @OptionGroup var plan: PlanOptions

    func run() throws {
        let migrations = try target.migrations()
        var options = lock.runnerOptions()
        options.commitQuorum = plan.commitQuorumValue
        let runner = MigrationRunner(database: try target.connect(), migrations: migrations, options: options)
        try reportingMigrationErrors { try runner.apply(to: plan.to) }
    }
}
