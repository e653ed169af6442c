import ArgumentParser
import AuditKit
import Foundation
import MigrationKit
import TextEscaping

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
        print("migrations of \(Escape.terminal(database.name)) on \(database.client.redactedURI) (files in \(Escape.terminal(target.dir))):")
        print("VERSION STATE        TITLE")
        // A status line holds a file's title and a record's error and host: one line, escaped as a whole.
        statuses.forEach { print(Escape.terminal($0.line)) }
        if statuses.isEmpty { print("(no migration files and no records)") }
        if statuses.contains(where: \.needsAttention) { throw AuditExit(code: .findings) }
    }
}

extension MigrationStatus {
    /// One line for `migrate status`.
    var line: String {
        var text =
            "\(String(version).padding(toLength: 6, withPad: " ", startingAt: 0)) \(state.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(title)"
        if let record {
            switch state {
            case .applied: text += "  (applied \(record.whenAndWho))"
            case .failed: text += "  (\(record.error ?? "failed")) -> fix it, then `migrate resolve \(version)`, or `migrate down`"
            case .interrupted:
                text += "  (dirty: started \(ISO8601DateFormatter().string(from: record.startedAt)) by \(record.host); `migrate apply` resumes it)"
            case .reverting: text += "  (dirty: a down stopped half way; `migrate down` finishes it)"
            case .changed:
                text +=
                    "  (file checksum \(migration?.checksum.prefix(12) ?? "") differs from the recorded \(record.checksum.prefix(12)); "
                    + "restore the file or `migrate resolve \(version)`)"
            case .missingFile: text += "  (applied \(record.whenAndWho); file \(record.file) not found)"
            case .pending: break
            }
        }
        return text
    }
}
