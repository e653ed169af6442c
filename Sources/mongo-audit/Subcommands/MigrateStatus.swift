import ArgumentParser
import AuditKit
import MigrationKit

struct MigrateStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List applied, pending, failed, interrupted and changed-since-applied migrations.",
        discussion: "Exit 1 when a migration needs a decision (failed, half reverted, or its file changed).")

    @OptionGroup var target: MigrationTarget

    func run() throws {
        let migrations = try target.migrations()
        let database = try target.connect()
        let statuses = try MigrationPlanner(database: database, migrations: migrations).statuses()
        print("migrations of \(database.name) on \(database.client.redactedURI) (files in \(target.dir)):")
        print("VERSION STATE        TITLE")
        statuses.forEach { print($0.line) }
        if statuses.isEmpty { print("(no migration files and no records)") }
        if statuses.contains(where: \.needsAttention) { throw AuditExit(code: .findings) }
    }
}
