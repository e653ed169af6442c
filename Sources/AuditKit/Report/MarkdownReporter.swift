import Foundation

/// Markdown for pull-request comments and CI job summaries (GitHub, GitLab).
public struct MarkdownReporter: Reporter {
    public static let identifier = "markdown"
    public init() {}

    public func render(_ report: AuditReport) throws -> String {
        let icon = report.outcome == .passed ? "✅" : report.outcome == .failed ? "❌" : "⚠️"
        var lines = [
            "## \(icon) mongo-audit: `\(code(report.database))` \(report.outcome.rawValue)",
            "",
            "MongoDB \(cell(report.serverVersion)) · spec `\(code(report.specFile))` (sha256 `\(report.specSHA256.prefix(12))`) · "
                + String(format: "%.2f s", report.durationSeconds) + " · "
                + (report.exact ? "exact figures" : "estimates from random samples: " + sampledCollections(report))
                + " · gate: \(report.failOn.rawValue) and above",
            "",
            "| severity | findings |",
            "| --- | ---: |",
        ]
        for severity in Severity.descending {
            lines.append("| \(severity.rawValue) | \(report.summary.findings[severity] ?? 0) |")
        }
        lines.append("")
        lines.append("| check | collection | status | findings |")
        lines.append("| --- | --- | --- | ---: |")
        for result in report.checks {
            lines.append("| `\(result.check)` | \(cell(result.collection ?? "")) | \(result.status.rawValue) | \(result.findings.filter { $0.severity > .info }.count) |")
        }
        for severity in Severity.descending where severity > .info {
            let findings = report.allFindings.filter { $0.severity == severity }
            guard !findings.isEmpty else { continue }
            lines.append("")
            lines.append("### \(severity.rawValue.capitalized) (\(findings.count))")
            for finding in findings {
                lines.append("")
                lines.append("- **\(cell(finding.collection.map { "\($0): " } ?? ""))\(cell(finding.title))** (`\(finding.check)`)")
                lines.append("  - why: \(cell(finding.impact))")
                if let fix = finding.fix { lines.append("  - fix: `\(code(fix))`") }
                for line in detailLines(finding) { lines.append("  - \(cell(line))") }
            }
        }
        for result in report.checks where result.status == .notRun {
            lines.append("")
            lines.append("> ⚠️ `\(result.check)` did not run: \(cell(result.reason ?? ""))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Keeps untrusted text from breaking the Markdown structure or adding its own: control characters
    /// shown, Markdown and HTML punctuation escaped.
    private func cell(_ text: String) -> String {
        var result = ""
        for character in safe(text) {
            if "\\`*_[]<>|~".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    /// Text inside a code span: backquotes cannot end it early.
    private func code(_ text: String) -> String { safe(text).replacingOccurrences(of: "`", with: "'") }
}
