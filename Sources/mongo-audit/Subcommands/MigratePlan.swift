import ArgumentParser
import MigrationKit

struct MigratePlan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print, for each pending migration, the exact commands apply would send and what each changes; changes nothing.")

    @OptionGroup var target: MigrationTarget

    @Option(name: .long, help: "Plan up to and including this version.")
    var to: Int?

    @Option(name: .long, help: "The commitQuorum apply would send with createIndexes (replica sets).")
    var commitQuorum: String?

    func run() throws {
        let migrations = try target.migrations()
        let planner = MigrationPlanner(database: try target.connect(), migrations: migrations, commitQuorum: commitQuorumValue(commitQuorum))
        try reportingMigrationErrors { print(try planner.plan(to: to), terminator: "") }
    }
}
