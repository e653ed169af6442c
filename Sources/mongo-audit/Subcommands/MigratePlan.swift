import ArgumentParser
import MigrationKit

struct MigratePlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print, for each pending migration, the exact commands apply would send and what each changes; changes nothing.")

    @OptionGroup var target: MigrationTarget

    @OptionGroup var plan: PlanOptions

    func run() throws {
        let migrations = try target.migrations()
        let planner = MigrationPlanner(database: try target.connect(), migrations: migrations, commitQuorum: plan.commitQuorumValue)
        try reportingMigrationErrors { print(try planner.plan(to: plan.to), terminator: "") }
    }
}
