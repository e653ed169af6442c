import ArgumentParser
import AuditKit
import Foundation
import MongoKit
import TextEscaping

/// `mongo-audit baseline`: accept what the database holds today, in a file reviewed in git.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Audit and write the findings (ids and figures) to a baseline file that `audit --baseline` compares with.",
        discussion: """
            The file lists each finding above info by id, with its severity, title and figures, sorted by id, so a
            change to it reads as a small diff in review. `--prune` audits again and only removes the findings
            that are fixed; it never adds one (write a new baseline for that).
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to audit.")
    var database: String?

    @Option(name: .long, help: "The spec file (YAML or JSON).")
    var spec = "Checks/mongo-audit.yml"

    @Option(name: .long, help: "The baseline file to write (or, with --prune, to prune).")
    var output = "mongo-audit-baseline.json"

    @Flag(name: .long, help: "Only remove the findings of the existing baseline that are fixed.")
    var prune = false

    @OptionGroup var timeLimit: OperationTimeLimit
    var maxTimeMS: Int { timeLimit.maxTimeMS }

    @OptionGroup var reads: ReadPreferenceOption
    var readPreference: ReadPreference { reads.readPreference }

    func run() throws {
        let file: ReportFile
        var existing: Baseline?
        do {
            file = try ReportFile(path: output, protecting: [spec])
            if prune { existing = try Baseline.load(path: output) }
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        let auditSpec = try AuditSpec.load(path: spec)
        guard let databaseName = try database ?? auditSpec.database ?? connection.databaseInURI() else {
            throw ValidationError("no database to audit: give --database, `database:` in the spec, or a path in the URI")
        }
        let longestLimit = auditSpec.checks.compactMap(\.timeLimitMS).reduce(maxTimeMS, max)
        let client = try connection.connect(operationLimitMS: longestLimit)
        let report = try Auditor(
            spec: auditSpec, maxTimeMS: maxTimeMS, scanOptions: ScanOptions(readPreference: readPreference), tool: toolName
        ).run(on: client, database: databaseName, failOn: .info)
        let notRun = report.checks.filter { $0.status == .notRun }
        for result in notRun { printError("warning: \(result.check) did not run (\(result.reason ?? "")); its findings are not in the baseline") }
        let baseline: Baseline
        if let existing {
            let gate = Gate(baseline: existing).evaluate(report)
            for note in gate.notes { printError("warning: \(note)") }
            let (pruned, removed) = existing.pruned(by: report)
            baseline = pruned
            print("pruned \(removed.count) fixed finding(s) from \(output); \(pruned.entries.count) remain")
            for id in removed { print("  - \(Escape.terminal(id))") }
        } else {
            baseline = Baseline(report: report)
            print("wrote \(baseline.entries.count) finding(s) of database \"\(Escape.terminal(databaseName))\" to \(output)")
        }
        do {
            try file.write(baseline.text)
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        throw AuditExit(code: notRun.isEmpty ? .passed : AuditExitCode(report))
    }
}
