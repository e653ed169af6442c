import Foundation
import MongoKit
import TextEscaping

/// Renders a report in one format. Reporters are chosen by identifier.
public protocol Reporter: Sendable {
    static var identifier: String { get }
    func render(_ report: AuditReport) throws -> String
}

/// The report formats, by identifier; the only list of them.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, junit, markdown, html, sarif, github

    /// The reporter of this format; `colour` applies to text only.
    public func reporter(colour: Bool = false) -> any Reporter {
        switch self {
        case .text: return TextReporter(colour: colour)
        case .json: return JSONReporter()
        case .junit: return JUnitReporter()
        case .markdown: return MarkdownReporter()
        case .html: return HTMLReporter()
        case .sarif: return SARIFReporter()
        case .github: return GitHubReporter()
        }
    }
}

/// The report for a person: grouped by severity, each finding with what, why, the fix and its figures.
public struct TextReporter: Reporter {
    public static let identifier = "text"
    public let colour: Bool

    public init(colour: Bool) { self.colour = colour }

    public func render(_ report: AuditReport) throws -> String {
        let style = TerminalStyle(enabled: colour)
        var lines: [String] = []
        lines.append(
            style.bold(
                "\(Escape.terminal(report.tool)): database \"\(Escape.terminal(report.database))\" on MongoDB \(Escape.terminal(report.serverVersion)) (\(Escape.terminal(report.target)))"
            ))
        let checksum = String(report.specSHA256.prefix(12))
        lines.append(
            "spec \(Escape.terminal(report.specFile)) (sha256 \(checksum)), \(report.checks.count) checks, "
                + String(format: "%.2f s", report.durationSeconds)
                + (report.exact ? ", exact figures" : ", estimates from random samples: " + sampledCollections(report)))
        for severity in Severity.descending {
            let findings = report.allFindings.filter { $0.severity == severity }
            guard !findings.isEmpty else { continue }
            lines.append("")
            lines.append(style.bold(style.paint("\(severity.rawValue.uppercased()) (\(findings.count))", severity)))
            for finding in findings {
                let place = finding.collection.map { "\(Escape.terminal($0)): " } ?? ""
                lines.append("  \(style.paint(severity >= report.failOn ? "✗" : "•", severity)) \(place)\(Escape.terminal(finding.title))  [\(finding.check)]")
                lines.append("    why: \(Escape.terminal(finding.impact))")
                if let fix = finding.fix { lines.append("    fix: \(Escape.terminal(fix))") }
                for line in detailLines(finding) { lines.append(style.dim("    \(line)")) }
            }
        }
        for result in report.checks where result.status == .notRun {
            lines.append("")
            lines.append(
                style.yellow("NOT RUN: \(result.check)\(result.collection.map { " on \(Escape.terminal($0))" } ?? ""): \(Escape.terminal(result.reason ?? ""))")
            )
        }
        lines.append("")
        let s = report.summary
        lines.append("Checks: \(s.checksPassed) passed, \(s.checksFailed) failed, \(s.checksNotRun) not run")
        switch report.outcome {
        case .passed:
            lines.append(style.bold(style.green("Result: PASSED, no finding at or above \(report.failOn.rawValue)")))
        case .failed:
            lines.append(style.bold(style.red("Result: FAILED, \(report.gatedFindings.count) finding(s) at or above \(report.failOn.rawValue)")))
        case .incomplete:
            lines.append(style.bold(style.yellow("Result: INCOMPLETE, \(s.checksNotRun) check(s) could not run")))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Which collections were sampled, and how much: `recordings (10000 of 1000000 documents)`.
func sampledCollections(_ report: AuditReport) -> String {
    var seen: [String] = []
    for result in report.checks {
        guard let sample = result.sample, let collection = result.collection else { continue }
        let text = "\(Escape.terminal(collection)) (\(sample.size) of \(sample.of) documents)"
        if !seen.contains(text) { seen.append(text) }
    }
    return seen.isEmpty ? "\(report.sampleSize ?? 0) documents per collection" : seen.joined(separator: ", ")
}

/// A finding's figures, examples and facts as `name: text` lines, for the text, Markdown and JUnit reports.
func detailLines(_ finding: Finding) -> [String] {
    var lines = finding.metrics.entries.map { "\(Escape.terminal($0.name)): \($0.metric.text(named: $0.name))" }
    if !finding.examples.isEmpty { lines.append("examples: " + finding.examples.map(describeValue).joined(separator: ", ")) }
    lines += finding.facts.map { "\($0.name): \(Escape.terminal($0.text))" }
    return lines
}

extension Metric {
    /// The figure as people read it; the metric's name gives the unit.
    func text(named name: String) -> String {
        switch self {
        case .count(let n): return String(n)
        case .proportion(let p): return p.text
        case .value(let v):
            if name.hasSuffix("Ms") { return String(format: "%.1f ms", v) }
            if name.hasSuffix("Seconds") { return String(format: "%.2f s", v) }
            if name.hasSuffix("Share") || name == "minComplete" { return percent(v) }
            return String(format: "%g", v)
        }
    }
}

/// A value as a person pastes it into a query: `ObjectId("…")`, `"text"`, `1234567`.
func describeValue(_ value: BSONValue) -> String {
    switch value {
    case .objectId(let id): return "ObjectId(\"\(id.hex)\")"
    default: return Escape.terminal(value.relaxedJSON)
    }
}

/// ANSI colours for one report, on or off, without touching any process-wide setting.
struct TerminalStyle {
    let enabled: Bool

    private func wrap(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func green(_ text: String) -> String { wrap(text, "32") }
    func yellow(_ text: String) -> String { wrap(text, "33") }

    func paint(_ text: String, _ severity: Severity) -> String {
        switch severity {
        case .critical: return red(text)
        case .high: return wrap(text, "91")
        case .medium: return yellow(text)
        case .low: return wrap(text, "36")
        case .info: return wrap(text, "90")
        }
    }
}

/// The machine-readable report: the versioned schema documented in `docs/report-schema.json`.
public struct JSONReporter: Reporter {
    public static let identifier = "json"
    public init() {}

    public func render(_ report: AuditReport) throws -> String { report.json.text() + "\n" }
}
