import Foundation
import Rainbow

/// Renders a report in one format. Reporters are chosen by identifier.
public protocol Reporter {
    static var identifier: String { get }
    func render(_ report: AuditReport) throws -> String
}

public let builtInReporters: [any Reporter.Type] = [TextReporter.self, JSONReporter.self, JUnitReporter.self, MarkdownReporter.self]

public func reporter(identifier: String, colour: Bool = false) -> (any Reporter)? {
    switch identifier {
    case TextReporter.identifier: return TextReporter(colour: colour)
    case JSONReporter.identifier: return JSONReporter()
    case JUnitReporter.identifier: return JUnitReporter()
    case MarkdownReporter.identifier: return MarkdownReporter()
    default: return nil
    }
}

/// The report for a person: grouped by severity, each finding with what, why and the fix.
public struct TextReporter: Reporter {
    public static let identifier = "text"
    public let colour: Bool

    public init(colour: Bool) { self.colour = colour }

    public func render(_ report: AuditReport) throws -> String {
        Rainbow.enabled = colour
        var lines: [String] = []
        lines.append("\(report.tool): database \"\(report.database)\" on MongoDB \(report.serverVersion) (\(report.target))".bold)
        let checksum = String(report.specSHA256.prefix(12))
        lines.append(
            "spec \(report.specFile) (sha256 \(checksum)), \(report.checks.count) checks, "
                + String(format: "%.2f s", report.durationSeconds)
                + (report.exact ? ", exact figures" : ", estimates from a random sample of \(report.sampleSize ?? 0) documents per collection"))
        for severity in Severity.descending {
            let findings = report.allFindings.filter { $0.severity == severity }
            guard !findings.isEmpty else { continue }
            lines.append("")
            lines.append(paint("\(severity.rawValue.uppercased()) (\(findings.count))", severity).bold)
            for finding in findings {
                let place = finding.collection.map { "\($0): " } ?? ""
                lines.append("  \(paint(severity >= report.failOn ? "✗" : "•", severity)) \(place)\(finding.title)  [\(finding.check)]")
                lines.append("    why: \(finding.impact)")
                if let fix = finding.fix { lines.append("    fix: \(fix)") }
                for (key, value) in finding.details.sorted(by: { $0.key < $1.key }) { lines.append("    \(key): \(value)".dim) }
            }
        }
        for result in report.checks where result.status == .notRun {
            lines.append("")
            lines.append("NOT RUN: \(result.check)\(result.collection.map { " on \($0)" } ?? ""): \(result.reason ?? "")".yellow)
        }
        lines.append("")
        let s = report.summary
        lines.append("Checks: \(s.checksPassed) passed, \(s.checksFailed) failed, \(s.checksNotRun) not run")
        let gated = report.allFindings.filter { $0.severity >= report.failOn }.count
        switch report.outcome {
        case "passed":
            lines.append("Result: PASSED, no finding at or above \(report.failOn.rawValue) (exit \(report.exitCode))".green.bold)
        case "failed":
            lines.append("Result: FAILED, \(gated) finding(s) at or above \(report.failOn.rawValue) (exit \(report.exitCode))".red.bold)
        default:
            lines.append("Result: INCOMPLETE, \(s.checksNotRun) check(s) could not run (exit \(report.exitCode))".yellow.bold)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func paint(_ text: String, _ severity: Severity) -> String {
        switch severity {
        case .critical: return text.red
        case .high: return text.lightRed
        case .medium: return text.yellow
        case .low: return text.cyan
        case .info: return text.lightBlack
        }
    }
}

/// The machine-readable report: the versioned schema documented in `docs/report-schema.json`.
public struct JSONReporter: Reporter {
    public static let identifier = "json"
    public init() {}

    public func render(_ report: AuditReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}
