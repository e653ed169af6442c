import ArgumentParser
import AuditKit
import Foundation
import MigrationKit
import MongoKit
import TextEscaping

struct MigrateEmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Audit the database and write the next migration: one that creates every index critical_indexes found missing.",
        discussion: "Writes nothing (exit 0) when no index is missing. Review the file, then `migrate plan` and `migrate apply`.")

    @OptionGroup var target: MigrationTarget

    @Option(name: .long, help: "The audit spec (YAML or JSON).")
    var spec = "Checks/mongo-audit.yml"

    @Option(name: .long, help: "Title of the migration file.")
    var title = "create_critical_indexes"

    func run() throws {
        let auditSpec = try AuditSpec.load(path: spec)
        guard let databaseName = try target.database ?? auditSpec.database ?? target.connection.databaseInURI() else {
            throw ValidationError("no database to audit: give --database, `database:` in the spec, or a path in the URI")
        }
        let client = try target.connection.connect()
        let report = try Auditor(spec: auditSpec).run(on: client, database: databaseName, failOn: .info)
        var groups: [(collection: String, indexes: [IndexSpec])] = []
        var warnings: [String] = []
        for finding in report.allFindings {
            guard let entry = finding.indexToCreate, let collection = finding.collection else { continue }
            if let blocker = finding.fact("blockedBy") { warnings.append("\(collection) \(finding.subject ?? ""): \(blocker)") }
            let index = IndexSpec(document: entry)
            if let position = groups.firstIndex(where: { $0.collection == collection }) {
                if !groups[position].indexes.contains(where: { $0.name == index.name }) { groups[position].indexes.append(index) }
            } else {
                groups.append((collection, [index]))
            }
        }
        guard !groups.isEmpty else {
            print("the audit of \(Escape.terminal(databaseName)) found no missing critical index; no migration written")
            return
        }
        try FileManager.default.createDirectory(atPath: target.dir, withIntermediateDirectories: true)
        let directory = try MigrationDirectory(path: target.dir)
        let file = try directory.nextFile(title: title)
        let count = groups.map(\.indexes.count).reduce(0, +)
        // A migration bound to fail says so in the file itself, where the person applying it reads.
        let description =
            "Create the \(count) index(es) the critical_indexes check of \(spec) found missing in \(databaseName)"
            + warnings.map { ". WARNING, this migration fails until fixed: \($0)" }.joined()
        try directory.write(MigrationTemplate.createIndexes(groups, description: description), to: file)
        print(
            Escape.terminal(
                "wrote \(file): creates \(groups.map { "\($0.indexes.map(\.name).joined(separator: ", ")) on \($0.collection)" }.joined(separator: "; "))"))
        for warning in warnings { print("warning: \(Escape.terminal(warning))") }
        print("next: mongo-audit migrate plan --database \(Escape.terminal(databaseName))")
    }
}
