import Foundation
import MongoKit
import TextEscaping

/// The findings a team has accepted, by id with their figures, in a file meant for review in git
/// (`mongo-audit baseline`). An audit given a baseline fails only on what is new or has become worse.
package struct Baseline: Sendable, Equatable {
    package static let schemaName = "mongo-audit/baseline"
    package static let schemaVersion = 1

    package struct Entry: Sendable, Equatable {
        package var id: String
        package var check: String
        package var severity: Severity
        /// The title when the baseline was written, for reviewers; never compared.
        package var title: String
        /// The figures compared: each metric as a number (a proportion by its count).
        package var metrics: [(name: String, value: Double)]

        package init(id: String, check: String, severity: Severity, title: String, metrics: [(name: String, value: Double)]) {
            self.id = id
            self.check = check
            self.severity = severity
            self.title = title
            self.metrics = metrics
        }

        package init(_ finding: Finding) {
            self.init(
                id: finding.id, check: finding.check, severity: finding.severity, title: finding.title,
                metrics: finding.metrics.entries.map { ($0.name, $0.metric.number) }.sorted { $0.name < $1.name })
        }

        package func metric(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }

        package static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.id == rhs.id && lhs.check == rhs.check && lhs.severity == rhs.severity && lhs.title == rhs.title
                && lhs.metrics.map(\.name) == rhs.metrics.map(\.name) && lhs.metrics.map(\.value) == rhs.metrics.map(\.value)
        }

        var json: JSONValue {
            .object([
                ("id", .string(id)), ("check", .string(check)), ("severity", .string(severity.rawValue)), ("title", .string(title)),
                ("metrics", .object(metrics.map { ($0.name, number($0.value)) })),
            ])
        }
    }

    package var database: String
    package var specFile: String
    package var specSHA256: String
    package var tool: String
    package var createdAt: Date
    /// Sorted by id, so a change to the file is a small diff.
    package var entries: [Entry]

    package init(database: String, specFile: String, specSHA256: String, tool: String, createdAt: Date, entries: [Entry]) {
        self.database = database
        self.specFile = specFile
        self.specSHA256 = specSHA256
        self.tool = tool
        self.createdAt = createdAt
        self.entries = entries.sorted { $0.id < $1.id }
    }

    /// The findings above info of a report (info findings are figures for reference, never gated).
    package init(report: AuditReport) {
        var seen = Set<String>()
        let entries = report.allFindings.filter { $0.severity > .info && seen.insert($0.id).inserted }.map(Entry.init)
        self.init(
            database: report.database, specFile: report.specFile, specSHA256: report.specSHA256, tool: report.tool,
            createdAt: report.startedAt, entries: entries)
    }

    package func entry(_ id: String) -> Entry? { entries.first { $0.id == id } }

    /// This baseline without the entries the report no longer finds (only ever removes; entries of checks
    /// that did not run stay). Returns the removed ids too.
    package func pruned(by report: AuditReport) -> (baseline: Baseline, removed: [String]) {
        let gate = Gate(baseline: self).evaluate(report)
        let fixed = Set(gate.fixed.map(\.id))
        var copy = self
        copy.entries.removeAll { fixed.contains($0.id) }
        return (copy, entries.map(\.id).filter(fixed.contains))
    }

    package var json: JSONValue {
        .object([
            ("schema", .string(Self.schemaName)), ("schemaVersion", .integer(Int64(Self.schemaVersion))),
            ("database", .string(database)), ("specFile", .string(specFile)), ("specSHA256", .string(specSHA256)),
            ("tool", .string(tool)), ("createdAt", .string(timestamp(createdAt))),
            ("findings", .array(entries.map(\.json))),
        ])
    }

    /// The file's text: one finding per few lines, sorted, ending in a newline.
    package var text: String { json.text() + "\n" }

    package static func decode(_ data: Data, file: String) throws -> Baseline {
        let r = ReportDecoder.Reader(file: file)
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw GateFileError(file: file, "not JSON: \(error.localizedDescription)")
        }
        let object = try r.object(root, "")
        guard object["schema"] as? String == schemaName else {
            throw GateFileError(file: file, "not a mongo-audit baseline (schema is not \"\(schemaName)\"); write one with `mongo-audit baseline`")
        }
        let version = try r.int(object, "schemaVersion")
        guard version == schemaVersion else { throw GateFileError(file: file, "baseline version \(version); this mongo-audit reads version \(schemaVersion)") }
        let entries = try r.array(object, "findings").enumerated().map { offset, value -> Entry in
            let path = "findings[\(offset)]"
            let entry = try r.object(value, path)
            let metricsObject = try r.object(entry["metrics"] ?? [String: Any](), "\(path).metrics")
            var metrics: [(name: String, value: Double)] = []
            for name in metricsObject.keys.sorted() {
                guard let number = metricsObject[name] as? NSNumber, !isBool(number) else { throw r.fail("\(path).metrics.\(name)", "expected a number") }
                metrics.append((name, number.doubleValue))
            }
            return Entry(
                id: try r.string(entry, "id"), check: try r.string(entry, "check"), severity: try r.severity(entry, "severity"),
                title: entry["title"] as? String ?? "", metrics: metrics)
        }
        return Baseline(
            database: try r.string(object, "database"), specFile: try r.string(object, "specFile"), specSHA256: try r.string(object, "specSHA256"),
            tool: object["tool"] as? String ?? "", createdAt: parseTimestamp(object["createdAt"] as? String ?? "") ?? Date(timeIntervalSince1970: 0),
            entries: entries)
    }

    package static func load(path: String) throws -> Baseline {
        guard let data = FileManager.default.contents(atPath: path) else { throw GateFileError(file: path, "cannot read the baseline") }
        return try decode(data, file: path)
    }
}

func number(_ value: Double) -> JSONValue {
    if let int = Int64(exactly: value) { return .integer(int) }
    return .number(value)
}

/// Whether a finding is new, known (in the baseline, no worse), worse (in the baseline, a figure grew beyond
/// the tolerance or the severity rose) or fixed (in the baseline, no longer found).
package enum FindingStatus: String, Sendable, CaseIterable {
    case new, known, worse, fixed
}

/// Which way a figure is worse. Each check declares it for its findings' figures (`CheckDescription.metrics`).
public enum MetricDirection: String, Sendable {
    case up, down
}

/// One figure that moved past the tolerance.
package struct MetricChange: Sendable, Equatable {
    package var name: String
    package var old: Double
    package var new: Double
    /// The allowed change: relative (a share of `old`) or absolute.
    package var tolerance: Double
    package var absolute: Bool

    package var relativeChange: Double? { old == 0 ? nil : (new - old) / abs(old) }

    package var text: String {
        let change = relativeChange.map { String(format: "%+.1f%%", $0 * 100) } ?? "from zero"
        let allowed = absolute ? "tolerance \(format(tolerance))" : String(format: "tolerance %.0f%%", tolerance * 100)
        return "\(name) \(format(old)) → \(format(new)) (\(change), \(allowed))"
    }
}

func format(_ value: Double) -> String {
    if let int = Int(exactly: value) { return String(int) }
    return String(format: "%.4g", value)
}

/// A finding of the current audit as the baseline sees it.
package struct ClassifiedFinding: Sendable {
    package var finding: Finding
    package var status: FindingStatus
    /// For a worse finding: what got worse.
    package var changes: [MetricChange]
    /// For a worse finding whose severity rose: the severity in the baseline.
    package var previousSeverity: Severity?
}

/// Compares an audit with a baseline. Gating: a new finding at or above the report's `failOn`, or a known
/// one at or above it that got worse beyond the tolerance, fails the audit.
package struct Gate: Sendable {
    package let baseline: Baseline
    /// Allowed relative growth of a compared figure (0.2: 20%).
    package let relativeTolerance: Double
    /// Allowed absolute growth per check identifier, from the spec's `tolerances:`; replaces the relative one.
    package let absoluteTolerances: [String: Double]
    /// Where the baseline was read from, for messages.
    package let file: String
    /// The checks, asked which way each finding's figures get worse.
    package let registry: CheckRegistry

    package init(
        baseline: Baseline, relativeTolerance: Double = 0.2, absoluteTolerances: [String: Double] = [:], file: String = "baseline",
        registry: CheckRegistry = .builtIn
    ) {
        self.baseline = baseline
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerances = absoluteTolerances
        self.file = file
        self.registry = registry
    }

    package func evaluate(_ report: AuditReport) -> GateResult {
        var classified: [ClassifiedFinding] = []
        var seen = Set<String>()
        for finding in report.allFindings where finding.severity > .info {
            seen.insert(finding.id)
            guard let entry = baseline.entry(finding.id) else {
                classified.append(ClassifiedFinding(finding: finding, status: .new, changes: []))
                continue
            }
            let changes = worseChanges(finding, entry)
            let rose = finding.severity > entry.severity
            classified.append(
                ClassifiedFinding(
                    finding: finding, status: changes.isEmpty && !rose ? .known : .worse, changes: changes,
                    previousSeverity: rose ? entry.severity : nil))
        }
        // A baseline entry whose check did not run (or whose collection's checks did not) is not known to be fixed.
        let notRun = report.checks.filter { $0.status == .notRun }
        let fixed = baseline.entries.filter { entry in
            !seen.contains(entry.id) && report.checks.contains { $0.check == entry.check }
                && !notRun.contains { entry.id.hasPrefix("\($0.check)/\($0.collection ?? "-")/") }
        }
        var notes: [String] = []
        if baseline.database != report.database {
            notes.append("the baseline was written for database \"\(baseline.database)\", not \"\(report.database)\"")
        }
        if baseline.specSHA256 != report.specSHA256 {
            notes.append(
                "the baseline was written for spec \(baseline.specFile) (sha256 \(baseline.specSHA256.prefix(12))), not \(report.specFile) (sha256 \(report.specSHA256.prefix(12)))"
            )
        }
        return GateResult(
            file: file, failOn: report.failOn, findings: classified, fixed: fixed, notes: notes,
            checksNotRun: report.summary.checksNotRun)
    }

    func worseChanges(_ finding: Finding, _ entry: Baseline.Entry) -> [MetricChange] {
        finding.metrics.entries.compactMap { name, metric -> MetricChange? in
            guard let direction = registry.worseDirection(ofMetric: name, check: finding.check), let old = entry.metric(name) else { return nil }
            let new = metric.number
            let growth = direction == .up ? new - old : old - new
            if let absolute = absoluteTolerances[finding.check] {
                return growth > absolute ? MetricChange(name: name, old: old, new: new, tolerance: absolute, absolute: true) : nil
            }
            let worse = old == 0 ? growth > 0 : growth / abs(old) > relativeTolerance
            return worse ? MetricChange(name: name, old: old, new: new, tolerance: relativeTolerance, absolute: false) : nil
        }
    }
}

/// The gate's verdict on one audit against a baseline.
package struct GateResult: Sendable {
    package var file: String
    package var failOn: Severity
    package var findings: [ClassifiedFinding]
    package var fixed: [Baseline.Entry]
    /// The baseline was written for another database or spec.
    package var notes: [String]
    package var checksNotRun: Int

    package func findings(_ status: FindingStatus) -> [ClassifiedFinding] { findings.filter { $0.status == status } }

    package func status(of id: String) -> FindingStatus? { findings.first { $0.finding.id == id }?.status }

    /// What fails the gate: new or worse findings at or above `failOn`.
    package var failing: [ClassifiedFinding] {
        findings.filter { ($0.status == .new || $0.status == .worse) && $0.finding.severity >= failOn }
    }

    package var outcome: AuditOutcome { !failing.isEmpty ? .failed : checksNotRun > 0 ? .incomplete : .passed }

    package func count(_ status: FindingStatus) -> Int { status == .fixed ? fixed.count : findings(status).count }

    /// How to drop the fixed entries from the file.
    package var pruneHint: String? {
        fixed.isEmpty
            ? nil
            : "\(fixed.count) finding(s) of the baseline are fixed; remove them with: mongo-audit baseline --prune --output \(file) (same --spec and --database)"
    }

    package var json: JSONValue {
        .object([
            ("baseline", .string(file)), ("outcome", .string(outcome.rawValue)),
            ("counts", .object(FindingStatus.allCases.map { ($0.rawValue, .integer(Int64(count($0)))) })),
            ("notes", .array(notes.map(JSONValue.string))),
            (
                "findings",
                .array(
                    findings.map { item in
                        .object([
                            ("id", .string(item.finding.id)), ("status", .string(item.status.rawValue)),
                            ("severity", .string(item.finding.severity.rawValue)),
                            (
                                "changes",
                                .array(
                                    item.changes.map { change in
                                        .object([
                                            ("metric", .string(change.name)), ("old", number(change.old)), ("new", number(change.new)),
                                            ("tolerance", number(change.tolerance)), ("absolute", .bool(change.absolute)),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
            ("fixed", .array(fixed.map { .object([("id", .string($0.id)), ("severity", .string($0.severity.rawValue)), ("title", .string($0.title))]) })),
        ])
    }

    /// The gate's section of the text report.
    package func text(colour: Bool = false) -> String {
        let style = TerminalStyle(enabled: colour)
        var lines = [
            "", style.bold("Baseline \(Escape.terminal(file)): \(count(.new)) new, \(count(.known)) known, \(count(.worse)) worse, \(count(.fixed)) fixed"),
        ]
        for note in notes { lines.append(style.yellow("  note: \(Escape.terminal(note))")) }
        for item in findings where item.status == .new || item.status == .worse {
            let mark = item.finding.severity >= failOn ? "✗" : "•"
            lines.append(
                "  \(mark) \(item.status.rawValue.uppercased()) [\(item.finding.severity.rawValue)] \(Escape.terminal(item.finding.id)): \(Escape.terminal(item.finding.title))"
            )
            if let previous = item.previousSeverity { lines.append("      severity \(previous.rawValue) → \(item.finding.severity.rawValue)") }
            for change in item.changes { lines.append("      \(Escape.terminal(change.text))") }
        }
        for entry in fixed { lines.append("  ✓ FIXED \(Escape.terminal(entry.id)): \(Escape.terminal(entry.title))") }
        if let pruneHint { lines.append("  \(Escape.terminal(pruneHint))") }
        switch outcome {
        case .passed: lines.append(style.bold(style.green("Gate: PASSED, nothing new or worse at or above \(failOn.rawValue)")))
        case .failed: lines.append(style.bold(style.red("Gate: FAILED, \(failing.count) new or worse finding(s) at or above \(failOn.rawValue)")))
        case .incomplete: lines.append(style.bold(style.yellow("Gate: INCOMPLETE, \(checksNotRun) check(s) could not run")))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
