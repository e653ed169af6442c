import Foundation
import TextEscaping

/// Markdown for pull-request comments and CI job summaries (GitHub, GitLab).
public struct MarkdownReporter: Reporter {
    public static let identifier = "markdown"
    public init() {}

    public func render(_ report: AuditReport) throws -> String {
        let icon = report.outcome == .passed ? "✅" : report.outcome == .failed ? "❌" : "⚠️"
        var lines = [
            "## \(icon) mongo-audit: `\(Escape.markdownCode(report.database))` \(report.outcome.rawValue)",
            "",
            "MongoDB \(Escape.markdownText(report.serverVersion)) · spec `\(Escape.markdownCode(report.specFile))` (sha256 `\(report.specSHA256.prefix(12))`) · "
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
            lines.append(
                "| `\(result.check)` | \(Escape.markdownText(result.collection ?? "")) | \(result.status.rawValue) | \(result.findings.filter { $0.severity > .info }.count) |"
            )
        }
        for severity in Severity.descending where severity > .info {
            let findings = report.allFindings.filter { $0.severity == severity }
            guard !findings.isEmpty else { continue }
            lines.append("")
            lines.append("### \(severity.rawValue.capitalized) (\(findings.count))")
            for finding in findings {
                lines.append("")
                lines.append(
                    "- **\(Escape.markdownText(finding.collection.map { "\($0): " } ?? ""))\(Escape.markdownText(finding.title))** (`\(finding.check)`)")
                lines.append("  - why: \(Escape.markdownText(finding.impact))")
                if let fix = finding.fix { lines.append("  - fix: `\(Escape.markdownCode(fix))`") }
                for line in detailLines(finding) { lines.append("  - \(Escape.markdownText(line))") }
            }
        }
        for result in report.checks where result.status == .notRun {
            lines.append("")
            lines.append("> ⚠️ `\(result.check)` did not run: \(Escape.markdownText(result.reason ?? ""))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
