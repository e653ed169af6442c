import ArgumentParser
import AuditKit
import Foundation
import MongoKit

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit a database against a spec, read-only, and exit by the severity of what was found.",
        discussion: """
            The audit only reads: a user holding the `read` role on the database is enough. The database is taken \
            from --database, else the spec's `database:`, else the connection string's path.

            --database may be repeated, and may be a pattern (`tenant_*`, `site_?`): each database is audited with \
            the same spec; text and Markdown get a section per database, JSON one report per line (JSON Lines), \
            JUnit one test suite per database; the exit code is the worst database's.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to audit; repeat it, or give a pattern with * and ?, to audit several with one spec.")
    var database: [String] = []

    @Option(name: .long, help: "The spec file (YAML or JSON).")
    var spec = "Checks/mongo-audit.yml"

    @Option(name: .long, help: "Report format: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: ReportFormat = .text

    @Option(name: .long, help: "Also write the report to this file.")
    var output: String?

    @Option(name: .long, help: "Fail (exit 1) on findings at or above this severity: critical, high, medium, low, info.")
    var failOn: Severity = .high

    @OptionGroup var timeLimit: OperationTimeLimit
    var maxTimeMS: Int { timeLimit.maxTimeMS }

    @Option(name: .long, help: "Audit a random sample of N documents per collection; figures become estimates with 95% confidence intervals.")
    var sample: Int?

    @Option(name: .long, help: "Audit a collection of more than N documents from a random sample of N (every report says which).")
    var maxDocuments: Int?

    @Option(name: .long, help: "Start no new check or pass after this many seconds; what was not started is reported as not run.")
    var budget: Double?

    @Option(name: .long, help: "Scan up to N collections at once (default 1; 2 with --sample, whose reads are short and random).")
    var parallel: Int?

    /// A sampled audit's passes are short random reads: two at once take about a third off its time.
    var scansAtOnce: Int { parallel ?? (sample == nil ? 1 : 2) }

    @Flag(name: .long, help: "Print what the audit would read (collections, documents, fields, commands) and an estimate of its time, then stop.")
    var plan = false

    @OptionGroup var reads: ReadPreferenceOption
    var readPreference: ReadPreference { reads.readPreference }

    @Option(name: .long, help: "Colour in the text report: auto (on a terminal), always, never.")
    var color: ColourChoice = .auto

    @OptionGroup var gate: GateOptions

    func validate() throws {
        if let sample { try requireFlag("--sample", sample, in: 1...1_000_000_000) }
        if let maxDocuments { try requireFlag("--max-documents", maxDocuments, in: 1...1_000_000_000) }
        if let budget { try requireFlag("--budget", budget, in: 0.001...604_800) }
        if let parallel { try requireFlag("--parallel", parallel, in: 1...64) }
    }

    func run() throws {
        let reportFile = try ReportFile.checked(output, protecting: [spec])
        let auditSpec = try AuditSpec.load(path: spec)
        let requested = database.isEmpty ? [try auditSpec.database ?? connection.databaseInURI()].compactMap { $0 } : database
        guard !requested.isEmpty else {
            throw ValidationError("no database to audit: give --database, `database:` in the spec, or a path in the URI")
        }
        let longestLimit = auditSpec.checks.compactMap(\.timeLimitMS).reduce(maxTimeMS, max)
        let client = try connection.connect(operationLimitMS: longestLimit)
        let databaseNames = try DatabaseSelection(requested).names(on: client)
        guard databaseNames.count == 1 || MultiDatabaseReport.formats.contains(format) else {
            throw ValidationError("--format \(format.rawValue) takes one database; \(databaseNames.count) match")
        }
        // Baselines, history and regressions are per database; each is read before any audit starts.
        var gates = try databaseNames.map { name in
            try gate.prepare(spec: auditSpec, specPath: spec, database: name, connection: connection, charts: format == .html)
        }
        var scanOptions = ScanOptions(sampleSize: sample, readPreference: readPreference)
        if isatty(STDERR_FILENO) == 1 {
            let progressLine = ProgressLine()
            scanOptions.progress = { progressLine.show($0) }
        }
        // A signal ends the audit after the check that runs; the report says which checks did not run.
        SignalStop.shared.install()
        var auditor = Auditor(
            spec: auditSpec, maxTimeMS: maxTimeMS, scanOptions: scanOptions, tool: toolName,
            shouldStop: { SignalStop.shared.signal != nil })
        auditor.budgetSeconds = budget
        auditor.maxDocuments = maxDocuments
        auditor.parallelScans = scansAtOnce
        if plan {
            for name in databaseNames {
                let auditPlan = try auditor.plan(on: client, database: name)
                print(format == .json ? auditPlan.json.text() : auditPlan.text, terminator: format == .json ? "\n" : "")
            }
            return
        }
        var reports: [(report: AuditReport, context: ReportContext, code: AuditExitCode)] = []
        for (position, name) in databaseNames.enumerated() where SignalStop.shared.signal == nil {
            let (report, context) = try gates[position].apply(to: try auditor.run(on: client, database: name, failOn: failOn))
            reports.append((report, context, gates[position].exitCode(report, context)))
        }
        let render = { (colour: Bool) throws -> String in
            guard reports.count != 1 else { return try format.reporter(colour: colour, context: reports[0].context).render(reports[0].report) }
            return try MultiDatabaseReport(reports: reports.map(\.report), format: format).render(colour: colour)
        }
        let colour = color == .always || (color == .auto && isatty(STDOUT_FILENO) == 1 && output == nil)
        print(try render(colour), terminator: "")
        let code = MultiDatabaseReport.worst(reports.map(\.code))
        if let reportFile {
            do {
                try reportFile.write(try render(false))
            } catch {
                // The audit ran; its own failure still decides the exit code, and a passing audit whose
                // report is lost does not pass.
                printError("\(error)")
                throw AuditExit(code: code == .passed ? .invalidInput : code)
            }
        }
        for (position, audited) in reports.enumerated() {
            try finishGate(gates[position], report: audited.report, context: audited.context, code: audited.code)
        }
        if let signal = SignalStop.shared.signal {
            fflush(nil)
            Foundation.exit(SignalStop.exitCode(signal))
        }
        throw AuditExit(code: code)
    }
}

/// When the text report is coloured.
enum ColourChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, always, never
}

extension ReportFormat: ExpressibleByArgument {}
