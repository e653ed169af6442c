import Foundation
import MongoKit
import TextEscaping

/// What a report can show beyond the audit itself: the baseline's verdict, the history (for charts) and the
/// spec's regression rules, and the checks' descriptions (for SARIF rules).
package struct ReportContext: Sendable {
    package var gate: GateResult?
    /// Earlier runs of the same database, oldest first, without the current one.
    package var history: [HistoryRecord]
    /// The current run's record, when history is kept.
    package var current: HistoryRecord?
    package var rules: [RegressionRule]
    package var registry: CheckRegistry

    package init(
        gate: GateResult? = nil, history: [HistoryRecord] = [], current: HistoryRecord? = nil, rules: [RegressionRule] = [],
        registry: CheckRegistry = .builtIn
    ) {
        self.gate = gate
        self.history = history
        self.current = current
        self.rules = rules
        self.registry = registry
    }
}

extension ReportFormat {
    /// The reporter of this format, showing what `context` adds: the gate's section in text, Markdown and
    /// JSON (`gate`), statuses and charts in HTML, baseline states in SARIF.
    package func reporter(colour: Bool = false, context: ReportContext) -> any Reporter {
        switch self {
        case .html: return HTMLReporter(context: context)
        case .sarif: return SARIFReporter(context: context)
        case .github: return GitHubReporter(context: context)
        case .text, .json, .markdown, .junit:
            guard let gate = context.gate else { return reporter(colour: colour) }
            return GatedReporter(base: reporter(colour: colour), format: self, gate: gate, colour: colour)
        }
    }
}

/// A text, Markdown or JSON report with the baseline's verdict added.
struct GatedReporter: Reporter {
    static let identifier = "gated"
    let base: any Reporter
    let format: ReportFormat
    let gate: GateResult
    let colour: Bool

    func render(_ report: AuditReport) throws -> String {
        switch format {
        case .json:
            guard case .object(var fields) = report.json else { return try base.render(report) }
            fields.append(("gate", gate.json))
            return JSONValue.object(fields).text() + "\n"
        case .text: return try base.render(report) + gate.text(colour: colour)
        case .markdown: return try base.render(report) + gate.markdown
        default: return try base.render(report)
        }
    }
}

extension GateResult {
    /// The gate's section in Markdown.
    public var markdown: String {
        var lines = [
            "", "### Baseline", "",
            "| new | known | worse | fixed |", "| ---: | ---: | ---: | ---: |",
            "| \(count(.new)) | \(count(.known)) | \(count(.worse)) | \(count(.fixed)) |",
        ]
        for note in notes { lines += ["", "> ⚠️ \(Escape.markdownText(note))"] }
        let listed = findings.filter { $0.status == .new || $0.status == .worse }
        if !listed.isEmpty { lines.append("") }
        for item in listed {
            var line =
                "- **\(item.status.rawValue)** (\(item.finding.severity.rawValue)) `\(Escape.markdownCode(item.finding.id))`: \(Escape.markdownText(item.finding.title))"
            if !item.changes.isEmpty { line += " — " + item.changes.map { Escape.markdownText($0.text) }.joined(separator: "; ") }
            lines.append(line)
        }
        if !fixed.isEmpty { lines.append("") }
        for entry in fixed { lines.append("- **fixed** `\(Escape.markdownCode(entry.id))`") }
        if let pruneHint { lines += ["", Escape.markdownText(pruneHint)] }
        lines += ["", "Gate: **\(outcome.rawValue)**"]
        return lines.joined(separator: "\n") + "\n"
    }
}

// MARK: - SARIF

/// SARIF 2.1.0 for code scanning: one result per finding above info, located at the line of the spec entry
/// that configured its check, with rules from the check descriptions and the finding id as partial fingerprint.
public struct SARIFReporter: Reporter {
    public static let identifier = "sarif"
    public static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"
    package let context: ReportContext

    public init() { self.init(context: ReportContext()) }
    /// With what a gated run adds: the baseline's verdict, the history, the spec's regression rules.
    package init(context: ReportContext) { self.context = context }

    public func render(_ report: AuditReport) throws -> String { sarif(report).text() + "\n" }

    func level(_ severity: Severity) -> String {
        switch severity {
        case .critical, .high: return "error"
        case .medium: return "warning"
        case .low, .info: return "note"
        }
    }

    public func sarif(_ report: AuditReport) -> JSONValue {
        let checkIds = uniqued(report.checks.map(\.check) + (context.gate?.fixed.map(\.check) ?? []))
        let rules: [JSONValue] = checkIds.map { id in
            let description = context.registry.check(identifier: id)?.description
            let name = description?.name ?? (id == RegressionRule.checkIdentifier ? "Regressions" : id)
            let summary =
                description?.summary
                ?? (id == RegressionRule.checkIdentifier
                    ? "A metric of the audit history moved past its threshold compared with the median of the last runs." : id)
            let severity = description?.defaultSeverity ?? .medium
            var fields: [(String, JSONValue)] = [
                ("id", .string(id)), ("name", .string(name.replacingOccurrences(of: " ", with: ""))),
                ("shortDescription", .object([("text", .string(name))])), ("fullDescription", .object([("text", .string(summary))])),
                ("defaultConfiguration", .object([("level", .string(level(severity)))])),
            ]
            if let needs = description?.needs {
                fields.append(("help", .object([("text", .string("\(summary) Needs: \(needs)."))])))
            }
            fields.append(("properties", .object([("tags", .array([.string("mongodb"), .string("data-quality")]))])))
            return .object(fields)
        }
        let ruleIndex = Dictionary(uniqueKeysWithValues: checkIds.enumerated().map { ($1, $0) })
        var results: [JSONValue] = []
        for result in report.checks {
            for finding in result.findings where finding.severity > .info {
                var fields: [(String, JSONValue)] = [
                    ("ruleId", .string(finding.check)), ("ruleIndex", .integer(Int64(ruleIndex[finding.check] ?? 0))),
                    ("level", .string(level(finding.severity))),
                    ("message", .object([("text", .string(message(finding)))])),
                    ("locations", .array([location(report.specFile, result.specLine)])),
                    ("partialFingerprints", .object([("mongoAuditFindingId/v1", .string(finding.id))])),
                ]
                if let status = context.gate?.status(of: finding.id) {
                    let state: String
                    switch status {
                    case .new: state = "new"
                    case .known: state = "unchanged"
                    case .worse: state = "updated"
                    case .fixed: state = "absent"
                    }
                    fields.append(("baselineState", .string(state)))
                }
                fields.append(
                    (
                        "properties",
                        .object([("severity", .string(finding.severity.rawValue)), ("findingId", .string(finding.id)), ("metrics", finding.metrics.json)])
                    ))
                results.append(.object(fields))
            }
        }
        for entry in context.gate?.fixed ?? [] {
            let line = report.checks.first { $0.check == entry.check }?.specLine
            results.append(
                .object([
                    ("ruleId", .string(entry.check)), ("ruleIndex", .integer(Int64(ruleIndex[entry.check] ?? 0))), ("kind", .string("pass")),
                    ("level", .string("none")), ("message", .object([("text", .string("fixed since the baseline: \(entry.title)"))])),
                    ("locations", .array([location(report.specFile, line)])),
                    ("partialFingerprints", .object([("mongoAuditFindingId/v1", .string(entry.id))])), ("baselineState", .string("absent")),
                ]))
        }
        let parts = report.tool.split(separator: " ", maxSplits: 1).map(String.init)
        var driver: [(String, JSONValue)] = [("name", .string(parts.first ?? report.tool))]
        if parts.count > 1 { driver.append(("version", .string(parts[1]))) }
        driver += [("informationUri", .string("https://github.com/mongo-audit/mongo-audit")), ("rules", .array(rules))]
        let notRun = report.checks.filter { $0.status == .notRun }
        let invocation: JSONValue = .object([
            ("executionSuccessful", .bool(notRun.isEmpty)),
            (
                "toolExecutionNotifications",
                .array(
                    notRun.map { result in
                        .object([
                            ("level", .string("warning")),
                            ("message", .object([("text", .string("\(result.check) did not run: \(result.reason ?? "")"))])),
                            ("locations", .array([location(report.specFile, result.specLine)])),
                        ])
                    })
            ),
        ])
        return .object([
            ("$schema", .string(Self.schemaURI)), ("version", .string("2.1.0")),
            (
                "runs",
                .array([
                    .object([
                        ("tool", .object([("driver", .object(driver))])),
                        ("invocations", .array([invocation])),
                        ("results", .array(results)),
                        (
                            "properties",
                            .object([
                                ("database", .string(report.database)), ("serverVersion", .string(report.serverVersion)),
                                ("specSHA256", .string(report.specSHA256)), ("outcome", .string(report.outcome.rawValue)),
                            ])
                        ),
                    ])
                ])
            ),
        ])
    }

    func message(_ finding: Finding) -> String {
        var text = (finding.collection.map { "\($0): " } ?? "") + finding.title + ". " + finding.impact
        if let fix = finding.fix { text += " Fix: \(fix)" }
        return text
    }

    func location(_ file: String, _ line: Int?) -> JSONValue {
        var physical: [(String, JSONValue)] = [("artifactLocation", .object([("uri", .string(uriReference(file)))]))]
        physical.append(("region", .object([("startLine", .integer(Int64(line ?? 1)))])))
        return .object([("physicalLocation", .object(physical))])
    }

    /// A path as a URI reference: relative paths stay relative (code scanning resolves them against the
    /// repository), absolute ones become file URIs; characters outside the unreserved set are escaped.
    func uriReference(_ path: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let escaped = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return path.hasPrefix("/") ? "file://" + escaped : escaped
    }
}

func uniqued(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}

// MARK: - GitHub workflow commands

/// GitHub Actions workflow commands: an annotation per finding above info on the spec entry's line
/// (`::error file=…,line=…::`); gated findings (new or worse ones, with a baseline) are errors.
public struct GitHubReporter: Reporter {
    public static let identifier = "github"
    package let context: ReportContext

    public init() { self.init(context: ReportContext()) }
    /// With what a gated run adds: the baseline's verdict, the history, the spec's regression rules.
    package init(context: ReportContext) { self.context = context }

    public func render(_ report: AuditReport) throws -> String {
        var lines: [String] = []
        for result in report.checks {
            for finding in result.findings where finding.severity > .info {
                let status = context.gate?.status(of: finding.id)
                let gated = finding.severity >= report.failOn && (status == nil || status == .new || status == .worse)
                let command = gated ? "error" : finding.severity >= .medium ? "warning" : "notice"
                var title = "[\(finding.severity.rawValue)] \(finding.check)"
                if let status { title += " (\(status.rawValue))" }
                var message = (finding.collection.map { "\($0): " } ?? "") + finding.title + "\n" + finding.impact
                if let fix = finding.fix { message += "\nfix: \(fix)" }
                lines.append(
                    "::\(command) file=\(Escape.workflowProperty(report.specFile)),line=\(result.specLine ?? 1),title=\(Escape.workflowProperty(title))::\(Escape.workflowMessage(message))"
                )
            }
            if result.status == .notRun {
                lines.append(
                    "::warning file=\(Escape.workflowProperty(report.specFile)),line=\(result.specLine ?? 1),title=\(Escape.workflowProperty("\(result.check) not run"))::\(Escape.workflowMessage(result.reason ?? ""))"
                )
            }
        }
        for entry in context.gate?.fixed ?? [] { lines.append("::notice title=fixed::\(Escape.workflowMessage("\(entry.id) is fixed since the baseline"))") }
        let outcome = context.gate?.outcome ?? report.outcome
        // A plain log line: escaped as terminal text, so a name's line break cannot start a command line.
        lines.append("mongo-audit: \(Escape.terminal(report.database)) \(outcome.rawValue)")
        return lines.joined(separator: "\n") + "\n"
    }
}
