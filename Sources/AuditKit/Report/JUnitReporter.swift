import Foundation
import TextEscaping

/// JUnit XML for CI systems: one test suite per audit, one test case per check and collection. Findings at
/// or above the gate are failures; checks that could not run are errors; lower findings go to system-out.
public struct JUnitReporter: Reporter {
    public static let identifier = "junit"
    public init() {}

    public func render(_ report: AuditReport) throws -> String { render(suitesOf: [report]) }

    /// One `<testsuites>` document with a test suite per audited database.
    public func render(suitesOf reports: [AuditReport]) -> String {
        let counts = reports.map { report in
            (
                tests: report.checks.count,
                failures: report.checks.filter { result in result.findings.contains { $0.severity >= report.failOn } }.count,
                errors: report.checks.filter { $0.status == .notRun }.count
            )
        }
        let time = seconds(reports.map(\.durationSeconds).reduce(0, +))
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites name=\"mongo-audit\" tests=\"\(counts.map(\.tests).reduce(0, +))\" failures=\"\(counts.map(\.failures).reduce(0, +))\" errors=\"\(counts.map(\.errors).reduce(0, +))\" time=\"\(time)\">\n"
        for (report, count) in zip(reports, counts) { xml += suite(report, failures: count.failures, errors: count.errors) }
        xml += "</testsuites>\n"
        return xml
    }

    private func suite(_ report: AuditReport, failures: Int, errors: Int) -> String {
        var xml = ""
        xml +=
            "  <testsuite name=\"\(Escape.xmlAttribute("mongo-audit \(report.database)"))\" tests=\"\(report.checks.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\" time=\"\(seconds(report.durationSeconds))\" timestamp=\"\(timestamp(report.startedAt))\">\n"
        xml += "    <properties>\n"
        for (name, value) in [
            ("server_version", report.serverVersion), ("spec_file", report.specFile), ("spec_sha256", report.specSHA256),
            ("fail_on", report.failOn.rawValue), ("exact", report.exact ? "true" : "false"),
        ] {
            xml += "      <property name=\"\(name)\" value=\"\(Escape.xmlAttribute(value))\"/>\n"
        }
        xml += "    </properties>\n"
        for result in report.checks {
            let name = result.collection.map { "\(result.check) (\($0))" } ?? result.check
            xml +=
                "    <testcase classname=\"mongo-audit.\(Escape.xmlAttribute(report.database))\" name=\"\(Escape.xmlAttribute(name))\" time=\"\(seconds(result.durationSeconds))\">\n"
            let gated = result.findings.filter { $0.severity >= report.failOn }
            if result.status == .notRun {
                xml += "      <error message=\"\(Escape.xmlAttribute(result.reason ?? "not run"))\" type=\"not_run\"/>\n"
            } else if !gated.isEmpty {
                let message = gated.map { "[\($0.severity.rawValue)] \($0.title)" }.joined(separator: "; ")
                xml +=
                    "      <failure message=\"\(Escape.xmlAttribute(message))\" type=\"\(gated.map(\.severity).max()!.rawValue)\">\(Escape.xmlText(describe(gated)))</failure>\n"
            }
            let other = result.findings.filter { $0.severity < report.failOn }
            if !other.isEmpty { xml += "      <system-out>\(Escape.xmlText(describe(other)))</system-out>\n" }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n"
        return xml
    }

    private func describe(_ findings: [Finding]) -> String {
        findings.map { finding in
            var lines = ["[\(finding.severity.rawValue)] \(finding.title)", "why: \(finding.impact)"]
            if let fix = finding.fix { lines.append("fix: \(fix)") }
            lines += detailLines(finding)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}

func seconds(_ value: Double) -> String { String(format: "%.3f", value) }
