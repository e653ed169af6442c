import ArgumentParser
import AuditKit
import Foundation
import MongoKit

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit a database against a spec, read-only, and exit by the severity of what was found.",
        discussion: """
            The audit only reads: a user holding the `read` role on the database is enough.
            The database is taken from --database, else the spec's `database:`, else the connection string's path.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: "The database to audit.")
    var database: String?

    @Option(name: .long, help: "The spec file (YAML or JSON).")
    var spec = "Checks/mongo-audit.yml"

    @Option(name: .long, help: "Report format: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: ReportFormat = .text

    @Option(name: .long, help: "Also write the report to this file.")
    var output: String?

    @Option(name: .long, help: "Fail (exit 1) on findings at or above this severity: critical, high, medium, low, info.")
    var failOn: Severity = .high

    @Option(name: .customLong("max-time-ms"), help: "Time limit the server applies to each operation, in milliseconds.")
    var maxTimeMS = 60_000

    @Option(name: .long, help: "Audit a random sample of N documents per collection; figures become estimates with 95% confidence intervals.")
    var sample: Int?

    @Option(name: .long, help: "Where scans and checks read: primary, primaryPreferred, secondary, secondaryPreferred (default), nearest.")
    var readPreference: ReadPreference = .secondaryPreferred

    @Option(name: .long, help: "Colour in the text report: auto (on a terminal), always, never.")
    var color: ColourChoice = .auto

    @OptionGroup var gate: GateOptions

    func validate() throws {
        try requireFlag("--max-time-ms", maxTimeMS, in: 1...86_400_000)
        if let sample { try requireFlag("--sample", sample, in: 1...1_000_000_000) }
    }

    func run() throws {
        let reportFile: ReportFile?
        do {
            reportFile = try output.map { try ReportFile(path: $0, protecting: [spec]) }
        } catch {
            printError("\(error)")
            throw AuditExit(code: .invalidInput)
        }
        let auditSpec = try AuditSpec.load(path: spec)
        guard let databaseName = database ?? auditSpec.database ?? connection.databaseInURI else {
            throw ValidationError("no database to audit: give --database, `database:` in the spec, or a path in the URI")
        }
        var preparedGate = try gate.prepare(
            spec: auditSpec, specPath: spec, database: databaseName, connection: connection, charts: format == .html)
        let longestLimit = auditSpec.checks.compactMap(\.timeLimitMS).reduce(maxTimeMS, max)
        let client = try connection.connect(operationLimitMS: longestLimit)
        var scanOptions = ScanOptions(sampleSize: sample, readPreference: readPreference)
        if isatty(STDERR_FILENO) == 1 {
            let progressLine = ProgressLine()
            scanOptions.progress = { progressLine.show($0) }
        }
        let audited = try Auditor(spec: auditSpec, maxTimeMS: maxTimeMS, scanOptions: scanOptions, tool: toolName)
            .run(on: client, database: databaseName, failOn: failOn)
        let (report, reportContext) = try preparedGate.apply(to: audited)
        let colour = color == .always || (color == .auto && isatty(STDOUT_FILENO) == 1 && output == nil)
        print(try format.reporter(colour: colour, context: reportContext).render(report), terminator: "")
        let code = preparedGate.exitCode(report, reportContext)
        if let reportFile {
            do {
                try reportFile.write(try format.reporter(colour: false, context: reportContext).render(report))
            } catch {
                // The audit ran; its own failure still decides the exit code, and a passing audit whose
                // report is lost does not pass.
                printError("\(error)")
                throw AuditExit(code: code == .passed ? .invalidInput : code)
            }
        }
        try finishGate(preparedGate, report: report, context: reportContext, code: code)
        throw AuditExit(code: code)
    }
}

/// When the text report is coloured.
enum ColourChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, always, never
}

extension ReportFormat: ExpressibleByArgument {}
