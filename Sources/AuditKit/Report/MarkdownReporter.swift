import Foundation

/// Markdown for pull-request comments and CI job summaries (GitHub, GitLab).
public struct MarkdownReporter: Reporter {
    public static let identifier = "markdown"
    public init() {}

    public func render(_ report: AuditReport) throws -> String {
        let icon = report.outcome == "passed" ? "✅" : report.outcome == "failed" ? "❌" : "⚠️"
        var lines = [
            "## \(icon) mongo-audit: `\(report.database)` \(report.outcome)",
            "",
            "MongoDB \(report.serverVersion) · spec `\(report.specFile)` (sha256 `\(report.specSHA256.prefix(12))`) · "
                + String(format: "%.2f s", report.durationSeconds) + " · "
                + (report.exact ? "exact figures" : "estimates from a sample of \(report.sampleSize ?? 0)")
                + " · gate: \(report.failOn.rawValue) and above",
            "",
            "| severity | findings |",
            "| --- | ---: |",
        ]
        for severity in Severity.descending {
            lines.append("| \(severity.rawValue) | \(report.summary.findings[severity.rawValue] ?? 0) |")
        }
        lines.append("")
        lines.append("| check | collection | status | findings |")
        lines.append("| --- | --- | --- | ---: |")
        for result in report.checks {
            lines.append("| `\(result.check)` | \(result.collection ?? "") | \(result.status.rawValue) | \(result.findings.filter { $0.severity > .info }.count) |")
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
                if let fix = finding.fix { lines.append("  - fix: `\(fix.replacingOccurrences(of: "`", with: "'"))`") }
                for (key, value) in finding.details.sorted(by: { $0.key < $1.key }) { lines.append("  - \(key): \(cell(value))") }
            }
        }
        for result in report.checks where result.status == .notRun {
            lines.append("")
            lines.append("> ⚠️ `\(result.check)` did not run: \(cell(result.reason ?? ""))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Keeps text from breaking the Markdown structure (tables, emphasis).
    private func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
