import ArgumentParser
import AuditKit
import Foundation
import MongoKit

/// `audit --baseline/--tolerance/--history/--force`: the gate against accepted findings and the history of
/// figures that trends and regressions read.
struct GateOptions: ParsableArguments {
    @Option(name: .long, help: "Compare with this baseline (written by `mongo-audit baseline`): fail only on new findings and on known ones that got worse.")
    var baseline: String?

    @Option(
        name: .long,
        help:
            "Relative growth of a baselined finding's figures that still counts as known (default 0.2, i.e. 20%; `tolerances:` in the spec sets absolute ones per check)."
    )
    var tolerance = 0.2

    @Option(
        name: .long, help: "Append this audit's figures to a history: a JSON Lines file, or mongodb://host/database[.collection] (not the audited database).")
    var history: String?

    @Flag(name: .long, help: "Allow --history to write into the audited database.")
    var force = false

    @Flag(name: .long, help: "Read --history (for regressions and charts) without appending this audit to it, e.g. for a second report format of the same run.")
    var noRecord = false

    func validate() throws {
        guard tolerance >= 0, tolerance <= 100 else { throw ValidationError("--tolerance must be between 0 and 100, got \(tolerance)") }
    }

    /// Everything checked before the audit starts, so a bad baseline or history target costs no audit.
    func prepare(spec: AuditSpec, specPath: String, database: String, connection: ConnectionOptions, charts: Bool = false) throws -> PreparedGate {
        var gate: Gate?
        if let baseline {
            do {
                gate = Gate(
                    baseline: try Baseline.load(path: baseline), relativeTolerance: tolerance, absoluteTolerances: spec.tolerances, file: baseline)
            } catch let error as GateFileError {
                printError("\(error)")
                throw AuditExit(code: .invalidInput)
            }
        }
        var store: PreparedGate.Store?
        if let history {
            do {
                switch try HistoryTarget(history) {
                case .file(let path):
                    store = .file(try HistoryFile(path: path, protecting: [specPath] + (baseline.map { [$0] } ?? [])))
                case .mongo(let uri, let historyDatabase, let collection):
                    guard historyDatabase != database || force else {
                        printError(
                            "--history \(Redactor.redactedURI(uri)) names database \"\(historyDatabase)\", the audited database; the audit only reads, so its history goes elsewhere (give --force if that is another deployment)"
                        )
                        throw AuditExit(code: .invalidInput)
                    }
                    let client = try connection.timeouts.client(uri: uri)
                    store = .mongo(MongoHistoryStore(collection: client.database(historyDatabase).collection(collection)))
                }
            } catch let error as GateFileError {
                printError("\(error)")
                throw AuditExit(code: .invalidInput)
            } catch let error as ReportFile.Refusal {
                printError("--history: \(error)")
                throw AuditExit(code: .invalidInput)
            }
        }
        var prepared = PreparedGate(gate: gate, store: store, rules: spec.regressions)
        prepared.recording = !noRecord
        prepared.charts = charts
        return prepared
    }
}

/// The gate of one audit: what it compares with and where its figures go.
struct PreparedGate {
    enum Store {
        case file(HistoryFile)
        case mongo(MongoHistoryStore)
    }

    let gate: Gate?
    let store: Store?
    let rules: [RegressionRule]
    private(set) var record: HistoryRecord?
    /// False with --no-record: the history is read, never appended to.
    var recording = true
    /// The report draws charts of the history (HTML), so it reads more of it.
    var charts = false

    init(gate: Gate?, store: Store?, rules: [RegressionRule]) {
        self.gate = gate
        self.store = store
        self.rules = rules
    }

    /// Earlier records of `database`, oldest first.
    func history(database: String) throws -> [HistoryRecord] {
        guard historyDepth > 0 else { return [] }
        switch store {
        case .none: return []
        case .file(let file):
            let read = try file.read(database: database, last: historyDepth)
            if read.skipped > 0 { printError("history \(file.path): skipped \(read.skipped) line(s) that are not records") }
            return read.records
        case .mongo(let mongo): return try mongo.records(database: database, last: historyDepth)
        }
    }

    /// How many earlier runs are read: the longest regression window, and the 30 that charts show when the
    /// report draws them; none when nothing reads them (appending needs no reading).
    var historyDepth: Int { max(charts ? 30 : 0, rules.map(\.window).max() ?? 0) }

    /// The report with the regressions evaluated and the baseline's verdict deciding its outcome, and what
    /// the reporters show of both.
    mutating func apply(to audited: AuditReport) throws -> (AuditReport, ReportContext) {
        guard gate != nil || store != nil || !rules.isEmpty else { return (audited, ReportContext()) }
        var report = audited
        let current = HistoryRecord(report: audited)
        let earlier = store == nil ? nil : try history(database: audited.database)
        if !rules.isEmpty {
            report = report.adding(RegressionEvaluator(rules: rules).result(current: current, history: earlier))
        }
        var recorded = current
        recorded.outcome = report.outcome.rawValue
        var context = ReportContext(history: earlier ?? [], current: store == nil ? nil : recorded, rules: rules)
        if let gate {
            let result = gate.evaluate(report)
            recorded.outcome = result.outcome.rawValue
            context.gate = result
        }
        if store != nil { context.current = recorded }
        record = store == nil ? nil : recorded
        return (report, context)
    }

    /// The exit code: by the baseline's verdict when there is a baseline (the report itself keeps the
    /// audit's own outcome), else by the report.
    func exitCode(_ report: AuditReport, _ context: ReportContext) -> AuditExitCode {
        guard let gate = context.gate else { return AuditExitCode(report) }
        var gated = report
        gated.outcome = gate.outcome
        return AuditExitCode(gated)
    }

    /// Appends this audit's record: one line or one document, whole or nothing.
    func appendRecord() throws {
        guard recording, let record, let store else { return }
        switch store {
        case .file(let file): try file.append(record)
        case .mongo(let mongo): try mongo.append(record)
        }
    }
}
