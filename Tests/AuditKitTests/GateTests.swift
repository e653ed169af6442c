import AuditKit
import Foundation
import MongoKit
import SpecSupport
import XCTest

/// The gate's pieces without a server: baselines, regression rules in the spec, history keys, the report decoder.
final class GateTests: XCTestCase {
    static func report(missing: Int, violations: Int, of total: Int = 1000, indexMissing: Bool = true) -> AuditReport {
        var findings = [
            Finding(
                check: "value_rules", collection: "recordings", kind: "rule_violated", subject: "channels.min >= 1", severity: .high,
                title: "\(violations) value(s) break the rule", impact: "bad", metrics: ["violations": .proportion(Proportion(count: violations, of: total))],
                examples: [.string("<b>x</b>"), .int64(7)]),
            Finding(
                check: "field_completeness", collection: "recordings", kind: "incomplete_field", subject: "dtype", severity: .medium,
                title: "incomplete", impact: "skipped",
                metrics: [
                    "complete": .proportion(Proportion(count: total - missing, of: total)), "missing": .proportion(Proportion(count: missing, of: total)),
                    "minComplete": .value(0.999),
                ]),
        ]
        if indexMissing {
            findings.append(
                Finding(
                    check: "critical_indexes", collection: "recordings", kind: "missing_index", subject: "{uuid: 1}", severity: .high, title: "missing",
                    impact: "slow", fix: "db.x.createIndex({uuid: 1})"))
        }
        return AuditReport(
            tool: "mongo-audit test", database: "sample", target: "mongodb://h", serverVersion: "6.0.5", specFile: "Checks/x.yml",
            specSHA256: String(repeating: "a", count: 64), startedAt: Date(timeIntervalSince1970: 1_700_000_000), durationSeconds: 0.5,
            failOn: .high,
            checks: ["value_rules", "field_completeness", "critical_indexes"].enumerated().map { offset, check in
                CheckResult(
                    check: check, collection: "recordings", severity: .high, status: .failed, findings: findings.filter { $0.check == check },
                    metrics: check == "value_rules" ? ["valuesChecked": .count(total)] : [:], specLine: 7 + offset * 5)
            })
    }

    func testBaselineClassifiesAndRoundTrips() throws {
        let baseline = Baseline(report: Self.report(missing: 10, violations: 100))
        XCTAssertEqual(
            baseline.entries.map(\.id),
            [
                "critical_indexes/recordings/missing_index/{uuid: 1}", "field_completeness/recordings/incomplete_field/dtype",
                "value_rules/recordings/rule_violated/channels.min >= 1",
            ])
        XCTAssertEqual(try Baseline.decode(Data(baseline.text.utf8), file: "b.json"), baseline)

        // Within 20%: known; beyond it: worse; a figure from zero: worse; the index created: fixed.
        let same = Gate(baseline: baseline).evaluate(Self.report(missing: 11, violations: 119))
        XCTAssertEqual(same.findings.map(\.status), [.known, .known, .known])
        XCTAssertEqual(same.outcome, .passed)
        let worse = Gate(baseline: baseline).evaluate(Self.report(missing: 13, violations: 121, indexMissing: false))
        XCTAssertEqual(worse.status(of: "value_rules/recordings/rule_violated/channels.min >= 1"), .worse)
        XCTAssertEqual(worse.status(of: "field_completeness/recordings/incomplete_field/dtype"), .worse)
        XCTAssertEqual(worse.fixed.map(\.id), ["critical_indexes/recordings/missing_index/{uuid: 1}"])
        XCTAssertEqual(worse.failing.map(\.finding.check), ["value_rules"], "the medium one is worse but below the gate")
        XCTAssertEqual(worse.outcome, .failed)
        // An absolute tolerance per check replaces the relative one.
        let absolute = Gate(baseline: baseline, absoluteTolerances: ["value_rules": 25]).evaluate(Self.report(missing: 10, violations: 125))
        XCTAssertEqual(absolute.status(of: "value_rules/recordings/rule_violated/channels.min >= 1"), .known)
        XCTAssertEqual(
            baseline.pruned(by: Self.report(missing: 10, violations: 100, indexMissing: false)).removed, ["critical_indexes/recordings/missing_index/{uuid: 1}"]
        )
    }

    func testRegressionsInTheSpecFailClosed() throws {
        let text = """
            version: 1
            checks:
              - check: required_collections
                collections: [a]
            regressions:
              - metric: "field_completeness/recordings/completeness:*.share"
                worse: down
              - metric: "value_rules/*:violations"
                threshold: 0.5
                window: 3
                severity: high
            tolerances:
              value_rules: 5
            """
        let spec = try AuditSpec(text: text, file: "s.yml")
        XCTAssertEqual(
            spec.regressions,
            [
                RegressionRule(metric: "field_completeness/recordings/completeness:*.share", worse: .down, line: 6),
                RegressionRule(metric: "value_rules/*:violations", threshold: 0.5, window: 3, severity: .high, line: 8),
            ])
        XCTAssertEqual(spec.tolerances, ["value_rules": 5])
        for (bad, message) in [
            ("    worse: sideways", "s.yml:7:12: regressions[0].worse: expected up or down"),
            ("    window: 0", "s.yml:7:13: regressions[0].window: must be between 1 and 1000"),
            ("    treshold: 0.1", "s.yml:7:5: regressions[0].treshold: unknown field"),
        ] {
            let broken = text.replacingOccurrences(of: "    worse: down", with: bad)
            XCTAssertThrowsError(try AuditSpec(text: broken, file: "s.yml")) { error in
                XCTAssertTrue("\(error)".hasPrefix(message), "\(error)")
            }
        }
        XCTAssertThrowsError(try AuditSpec(text: text.replacingOccurrences(of: "  value_rules: 5", with: "  value_rule: 5"), file: "s.yml")) { error in
            XCTAssertTrue("\(error)".contains("tolerances.value_rule: unknown check 'value_rule'"), "\(error)")
        }
    }

    func testRegressionAgainstTheMedianOfTheWindow() {
        let rule = RegressionRule(metric: "x:*", worse: .up, threshold: 0.2, window: 5)
        XCTAssertEqual(RegressionEvaluator.median([5, 1, 3]), 3)
        XCTAssertEqual(RegressionEvaluator.median([4, 1, 3, 2]), 2.5)
        // The window is the last 5: the old 1000 is out of it.
        XCTAssertFalse(RegressionEvaluator.regressed(rule, current: 119, previous: [1000, 100, 100, 100, 100, 100]).0)
        XCTAssertTrue(RegressionEvaluator.regressed(rule, current: 121, previous: [100, 100, 100]).0)
        XCTAssertFalse(RegressionEvaluator.regressed(rule, current: 5, previous: []).0, "no history, no regression")
        XCTAssertTrue(RegressionEvaluator.regressed(rule, current: 1, previous: [0, 0]).0)
        let down = RegressionRule(metric: "x:*", worse: .down, threshold: 0.1)
        XCTAssertTrue(RegressionEvaluator.regressed(down, current: 0.85, previous: [0.99, 0.98]).0)
        XCTAssertFalse(RegressionEvaluator.regressed(down, current: 1.2, previous: [0.99]).0)
        XCTAssertTrue(glob("value_rules/*:violations", matches: "value_rules/recordings/rule_violated/a.b >= 1:violations"))
        XCTAssertFalse(glob("value_rules/*:violations", matches: "value_rules/recordings/rule_violated/x:violations.share"))
    }

    func testHistoryRecordKeysAndLines() throws {
        let record = HistoryRecord(report: Self.report(missing: 10, violations: 100))
        XCTAssertEqual(record.value("value_rules/recordings:valuesChecked"), 1000)
        XCTAssertEqual(record.value("value_rules/recordings/rule_violated/channels.min >= 1:violations"), 100)
        XCTAssertEqual(record.value("value_rules/recordings/rule_violated/channels.min >= 1:violations.share"), 0.1)
        XCTAssertFalse(record.line.dropLast().contains("\n"), "one line")
        let decoded = HistoryRecord.decode(lines: record.line + "{\"torn\n" + record.line, file: "h.jsonl")
        XCTAssertEqual(decoded.records.count, 2)
        XCTAssertEqual(decoded.skipped, 1)
        XCTAssertEqual(decoded.records[0].value("audit:durationSeconds"), 0.5)
        XCTAssertEqual(
            try HistoryTarget("mongodb://u:p@h1,h2/hist.runs?replicaSet=rs"),
            .mongo(uri: "mongodb://u:p@h1,h2/hist?replicaSet=rs", database: "hist", collection: "runs"))
        XCTAssertEqual(try HistoryTarget("mongodb://h/hist"), .mongo(uri: "mongodb://h/hist", database: "hist", collection: "mongo_audit_history"))
        XCTAssertEqual(try HistoryTarget("history.jsonl"), .file("history.jsonl"))
        XCTAssertThrowsError(try HistoryTarget("mongodb://h/"))
    }

    func testJSONReportReadsBack() throws {
        let report = Self.report(missing: 10, violations: 100)
        let decoded = try ReportDecoder.decode(Data(try JSONReporter().render(report).utf8), file: "r.json")
        XCTAssertEqual(decoded.allFindings.map(\.id), report.allFindings.map(\.id))
        // Relaxed Extended JSON keeps the value, not the integer's width.
        XCTAssertEqual(decoded.allFindings[0].examples.map(\.extendedJSON), [.string("<b>x</b>"), .integer(7)])
        XCTAssertEqual(decoded.allFindings[0].metrics["violations"], report.allFindings[0].metrics["violations"])
        XCTAssertEqual(decoded.allFindings.first { $0.check == "field_completeness" }?.metrics["minComplete"], .value(0.999))
        XCTAssertEqual(decoded.checks.map(\.specLine), [7, 12, 17])
        XCTAssertEqual(decoded.outcome, report.outcome)
        XCTAssertThrowsError(try ReportDecoder.decode(Data("{\"schema\": \"other\"}".utf8), file: "r.json")) { error in
            XCTAssertTrue("\(error)".contains("not a mongo-audit report"), "\(error)")
        }
    }

    func testHTMLEscapesAndSARIFLocates() throws {
        let report = Self.report(missing: 10, violations: 100)
        let html = try HTMLReporter().render(report)
        XCTAssertTrue(html.contains("&lt;b&gt;x&lt;/b&gt;"))
        XCTAssertFalse(html.contains("<b>x</b>"))
        let sarif = SARIFReporter().sarif(report)
        guard case .array(let runs)? = sarif["runs"], case .array(let results)? = runs.first?["results"] else { return XCTFail("no results") }
        XCTAssertEqual(results.count, 3)
        let github = try GitHubReporter().render(report)
        XCTAssertTrue(github.contains("::error file=Checks/x.yml,line=7,title=[high] value_rules::recordings: 100 value(s) break the rule%0Abad"), github)
    }
}
