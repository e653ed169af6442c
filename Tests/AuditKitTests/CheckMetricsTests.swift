import AuditKit
import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

/// What each check declares about its figures (which way is worse), and the edges the mutation pass found
/// unguarded: both directions are asserted, so a flip of either fails here.
final class CheckMetricsTests: XCTestCase {
    static func report(check: String, kind: String, metrics: Metrics) -> AuditReport {
        let finding = Finding(
            check: check, collection: "recordings", kind: kind, subject: "dtype", severity: .high, title: "t", impact: "i", metrics: metrics)
        return AuditReport(
            tool: "mongo-audit test", database: "sample", target: "mongodb://h", serverVersion: "6.0.5", specFile: "Checks/x.yml",
            specSHA256: String(repeating: "a", count: 64), startedAt: Date(timeIntervalSince1970: 1_700_000_000), durationSeconds: 0.5,
            failOn: .high,
            checks: [CheckResult(check: check, collection: "recordings", severity: .high, status: .failed, findings: [finding], metrics: [:], specLine: 7)])
    }

    static func completeness(_ complete: Int) -> AuditReport {
        report(
            check: "field_completeness", kind: "incomplete_field",
            metrics: ["complete": .proportion(Proportion(count: complete, of: 1000)), "minComplete": .value(0.999)])
    }

    /// `complete` is the one figure that is worse going down: fewer complete documents is worse, more is not.
    func testCompleteIsWorseGoingDown() {
        let id = "field_completeness/recordings/incomplete_field/dtype"
        let fell = Gate(baseline: Baseline(report: Self.completeness(1000))).evaluate(Self.completeness(700))
        XCTAssertEqual(fell.status(of: id), .worse)
        XCTAssertEqual(fell.findings.first?.changes.map(\.name), ["complete"])
        let rose = Gate(baseline: Baseline(report: Self.completeness(700))).evaluate(Self.completeness(1000))
        XCTAssertEqual(rose.status(of: id), .known)
        let diff = ReportDiff(old: Self.completeness(1000), new: Self.completeness(700))
        XCTAssertEqual(diff.worse.map(\.finding.id), [id])
        XCTAssertEqual(ReportDiff(old: Self.completeness(700), new: Self.completeness(1000)).better.map(\.finding.id), [id])
    }

    /// A figure that grows and one that is not compared, by the check's own declaration; a check the registry
    /// does not know (a plug-in absent now) has no compared figure.
    func testDirectionsComeFromTheFindingsCheck() {
        func violations(_ check: String, _ count: Int) -> AuditReport {
            Self.report(
                check: check, kind: "rule_violated", metrics: ["violations": .proportion(Proportion(count: count, of: 1000)), "documents": .count(count)])
        }
        let grew = Gate(baseline: Baseline(report: violations("value_rules", 100))).evaluate(violations("value_rules", 200))
        XCTAssertEqual(grew.findings.first?.status, .worse)
        XCTAssertEqual(grew.findings.first?.changes.map(\.name), ["violations"], "documents is not compared")
        let unknown = Gate(baseline: Baseline(report: violations("plugin_check", 100))).evaluate(violations("plugin_check", 200))
        XCTAssertEqual(unknown.findings.first?.status, .known)
        XCTAssertEqual(CheckRegistry.builtIn.worseDirection(ofMetric: "complete", check: "field_completeness"), .down)
        XCTAssertEqual(CheckRegistry.builtIn.worseDirection(ofMetric: "missing", check: "field_completeness"), .up)
        XCTAssertNil(CheckRegistry.builtIn.worseDirection(ofMetric: "minComplete", check: "field_completeness"))
        XCTAssertNil(CheckRegistry.builtIn.worseDirection(ofMetric: "violations", check: "plugin_check"))
    }

    /// The compared figures of the built-in checks, stated here independently of the checks: a direction
    /// flipped or dropped in a check's declaration changes gate verdicts, and fails here. Every other
    /// declared figure is not compared; each is declared once.
    func testTheComparedFiguresOfEachCheck() {
        let compared: [String: [String: MetricDirection]] = [
            "field_completeness": ["complete": .down, "missing": .up, "null": .up, "wrongType": .up],
            "live_historic": ["count": .up],
            "value_rules": ["violations": .up],
            "document_rules": ["violations": .up],
            "unique_values": ["duplicatedValues": .up, "extraDocuments": .up],
            "references": ["orphanDocuments": .up, "orphanValues": .up],
            "query_plans": ["p50Ms": .up, "p95Ms": .up, "maxMs": .up],
            "index_hygiene": ["indexes": .up],
            "freshness": ["ageSeconds": .up, "aheadSeconds": .up],
            "volume": ["shortfall": .up, "excess": .up],
        ]
        for check in CheckRegistry.builtIn.checks {
            let identifier = check.description.identifier
            let names = check.description.metrics.map(\.name)
            XCTAssertEqual(names.count, Set(names).count, identifier)
            let declared = Dictionary(uniqueKeysWithValues: check.description.metrics.compactMap { m in m.worse.map { (m.name, $0) } })
            XCTAssertEqual(declared, compared[identifier] ?? [:], identifier)
        }
    }

    /// A recording whose `end_time` is exactly the audit's `now` has ended: historic, not live.
    func testEndAtNowIsHistoric() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("endnow"))
        defer { try? database.drop() }
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        try database.collection("recordings").insertMany([
            ["start_time": .datetime(now.addingTimeInterval(-60)), "end_time": .datetime(now)],
            ["start_time": .datetime(now.addingTimeInterval(-60)), "end_time": .datetime(now.addingTimeInterval(1))],
            ["start_time": .datetime(now.addingTimeInterval(-60)), "end_time": .datetime(now.addingTimeInterval(-1))],
        ])
        let check = try LiveHistoricCheck(
            options: try SpecNode.parse("collection: recordings", file: "spec.yml").fields(allowed: LiveHistoricCheck.description.allowedFields))
        let output = try check.run(in: AuditContext(database: database, maxTimeMS: 60_000, now: now), severity: .high)
        let counts = try XCTUnwrap(output.findings.first { $0.kind == "live_historic" })
        XCTAssertEqual(counts.metrics["live"]?.number, 1, "only the one ending after now is live")
        XCTAssertEqual(counts.metrics["historic"]?.number, 2, "ending at now or before is historic")
    }
}
