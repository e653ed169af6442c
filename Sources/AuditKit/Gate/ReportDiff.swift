import Foundation
import MongoKit
import TextEscaping

/// What changed from one report to the next: findings new, fixed, worse or better (a compared figure moved
/// beyond the tolerance, or the severity changed), and every figure that changed.
package struct ReportDiff: Sendable {
    package struct Change: Sendable {
        package var key: String
        package var old: Double?
        package var new: Double?
    }

    package var old: AuditReport
    package var new: AuditReport
    package var tolerance: Double
    package var failOn: Severity
    package var newFindings: [Finding] = []
    package var fixed: [Finding] = []
    package var worse: [(finding: Finding, changes: [MetricChange])] = []
    package var better: [(finding: Finding, changes: [MetricChange])] = []
    package var metricChanges: [Change] = []
    package var notes: [String] = []

    package init(old: AuditReport, new: AuditReport, tolerance: Double = 0.2, failOn: Severity = .high, registry: CheckRegistry = .builtIn) {
        self.old = old
        self.new = new
        self.tolerance = tolerance
        self.failOn = failOn
        let baseline = Baseline(report: old)
        let gate = Gate(baseline: baseline, relativeTolerance: tolerance, registry: registry).evaluate(new)
        notes = gate.notes
        newFindings = gate.findings(.new).map(\.finding)
        worse = gate.findings(.worse).map { ($0.finding, $0.changes) }
        let fixedIds = Set(gate.fixed.map(\.id))
        fixed = old.allFindings.filter { fixedIds.contains($0.id) }
        // Better: the reverse comparison finds the old finding worse than the new one.
        let reverse = Gate(baseline: Baseline(report: new), relativeTolerance: tolerance, registry: registry)
        for item in gate.findings(.known) + gate.findings(.worse) {
            guard let oldFinding = old.allFindings.first(where: { $0.id == item.finding.id }), let entry = reverse.baseline.entry(item.finding.id) else {
                continue
            }
            let improved = reverse.worseChanges(oldFinding, entry).map {
                MetricChange(name: $0.name, old: $0.new, new: $0.old, tolerance: $0.tolerance, absolute: $0.absolute)
            }
            if !improved.isEmpty || item.finding.severity < oldFinding.severity { better.append((item.finding, improved)) }
        }
        let before = HistoryRecord(report: old), after = HistoryRecord(report: new)
        let keys = uniqued(before.metrics.map(\.key) + after.metrics.map(\.key)).filter { $0 != "audit:durationSeconds" }
        for key in keys {
            let a = before.value(key), b = after.value(key)
            if a != b { metricChanges.append(Change(key: key, old: a, new: b)) }
        }
    }

    /// A new or worse finding at or above the gate.
    package var failing: Bool { newFindings.contains { $0.severity >= failOn } || worse.contains { $0.finding.severity >= failOn } }

    package var text: String {
        var lines = [
            "\(Escape.terminal(old.specFile)) on \"\(Escape.terminal(old.database))\" at \(timestamp(old.startedAt)) → \(Escape.terminal(new.specFile)) on \"\(Escape.terminal(new.database))\" at \(timestamp(new.startedAt))",
            "findings: \(newFindings.count) new, \(fixed.count) fixed, \(worse.count) worse, \(better.count) better; \(metricChanges.count) figure(s) changed",
        ]
        for note in notes { lines.append("note: \(Escape.terminal(note))") }
        func section(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines.append("")
            lines.append(title)
            lines += items.map { "  \($0)" }
        }
        section("NEW", newFindings.map { "[\($0.severity.rawValue)] \(Escape.terminal($0.id)): \(Escape.terminal($0.title))" })
        section("FIXED", fixed.map { "[\($0.severity.rawValue)] \(Escape.terminal($0.id)): \(Escape.terminal($0.title))" })
        section(
            "WORSE",
            worse.map {
                "[\($0.finding.severity.rawValue)] \(Escape.terminal($0.finding.id)): " + $0.changes.map { Escape.terminal($0.text) }.joined(separator: "; ")
            })
        section(
            "BETTER",
            better.map {
                "[\($0.finding.severity.rawValue)] \(Escape.terminal($0.finding.id)): " + $0.changes.map { Escape.terminal($0.text) }.joined(separator: "; ")
            })
        section("METRICS", metricChanges.map { "\(Escape.terminal($0.key)): \($0.old.map(format) ?? "–") → \($0.new.map(format) ?? "–")" })
        return lines.joined(separator: "\n") + "\n"
    }

    package var json: JSONValue {
        func findingList(_ items: [Finding]) -> JSONValue {
            .array(items.map { .object([("id", .string($0.id)), ("severity", .string($0.severity.rawValue)), ("title", .string($0.title))]) })
        }
        func changeList(_ items: [(finding: Finding, changes: [MetricChange])]) -> JSONValue {
            .array(
                items.map { item in
                    .object([
                        ("id", .string(item.finding.id)), ("severity", .string(item.finding.severity.rawValue)),
                        ("changes", .array(item.changes.map { .object([("metric", .string($0.name)), ("old", number($0.old)), ("new", number($0.new))]) })),
                    ])
                })
        }
        return .object([
            ("schema", .string("mongo-audit/diff")), ("schemaVersion", .integer(1)),
            ("old", .object([("database", .string(old.database)), ("startedAt", .string(timestamp(old.startedAt))), ("specSHA256", .string(old.specSHA256))])),
            ("new", .object([("database", .string(new.database)), ("startedAt", .string(timestamp(new.startedAt))), ("specSHA256", .string(new.specSHA256))])),
            ("notes", .array(notes.map(JSONValue.string))),
            ("new_findings", findingList(newFindings)), ("fixed", findingList(fixed)), ("worse", changeList(worse)), ("better", changeList(better)),
            (
                "metrics",
                .array(metricChanges.map { .object([("key", .string($0.key)), ("old", $0.old.map(number) ?? .null), ("new", $0.new.map(number) ?? .null)]) })
            ),
        ])
    }
}
