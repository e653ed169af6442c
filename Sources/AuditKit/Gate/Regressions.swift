import Foundation
import MongoKit
import SpecSupport

/// A spec's `regressions:` entry: metrics (selected from the history's keys) that must not move past a
/// threshold in the direction that is worse, compared with the median of the last runs.
///
/// ```yaml
/// regressions:
///   - metric: "field_completeness/recordings/completeness:*.share"
///     worse: down          # up (default) or down
///     threshold: 0.2       # relative change, default 0.2 (20%)
///     window: 5            # the median of the last 5 runs (default)
///     severity: high       # default medium
/// ```
package struct RegressionRule: Sendable, Equatable {
    package static let fields = ["metric", "worse", "threshold", "window", "severity"]
    package static let checkIdentifier = "regressions"

    package var metric: String
    package var worse: MetricDirection
    package var threshold: Double
    package var window: Int
    package var severity: Severity
    /// The line of the entry in the spec.
    package var line: Int?

    package init(metric: String, worse: MetricDirection = .up, threshold: Double = 0.2, window: Int = 5, severity: Severity = .medium, line: Int? = nil) {
        self.metric = metric
        self.worse = worse
        self.threshold = threshold
        self.window = window
        self.severity = severity
        self.line = line
    }

    /// Reads the `regressions:` list; fails closed with file, line and field.
    package static func parse(_ node: SpecNode) throws -> [RegressionRule] {
        let entries = try node.array()
        guard !entries.isEmpty else { throw node.error("the list must not be empty (leave regressions: out instead)") }
        return try entries.map { entry in
            let fields = try entry.fields(allowed: fields)
            let metricNode = try fields.required("metric")
            let metric = try metricNode.string()
            guard metric.contains(":") else {
                throw metricNode.error("a metric selector is a history key or a pattern with * such as \"value_rules/recordings/*:violations\" (key:metric)")
            }
            var rule = RegressionRule(metric: metric, line: entry.line)
            if let node = fields["worse"] {
                guard let direction = MetricDirection(rawValue: try node.string()) else { throw node.error("expected up or down, got \(node.kindName)") }
                rule.worse = direction
            }
            if let node = fields["threshold"] {
                let value = try node.double()
                guard value > 0, value <= 100 else { throw node.error("must be a relative change above 0 (0.2 is 20%), got \(value)") }
                rule.threshold = value
            }
            if let node = fields["window"] {
                let value = try node.int()
                guard (1...1000).contains(value) else { throw node.error("must be between 1 and 1000 runs, got \(value)") }
                rule.window = value
            }
            if let node = fields["severity"] {
                guard let severity = Severity(rawValue: try node.string()) else {
                    throw node.error("expected one of critical, high, medium, low, info; got \(node.kindName)")
                }
                rule.severity = severity
            }
            return rule
        }
    }

    /// Reads `tolerances:`: an absolute allowed growth of a baselined finding's figures, per check identifier.
    package static func parseTolerances(_ node: SpecNode, registry: CheckRegistry) throws -> [String: Double] {
        var tolerances: [String: Double] = [:]
        for (key, value) in try node.mapping() {
            guard registry.check(identifier: key) != nil || key == checkIdentifier else {
                throw value.error("unknown check '\(key)'; known checks: \(registry.identifiers.joined(separator: ", "))")
            }
            let number = try value.double()
            guard number >= 0 else { throw value.error("must be zero or more, got \(number)") }
            tolerances[key] = number
        }
        return tolerances
    }
}

/// One metric's movement against its window.
package struct RegressionEvaluation: Sendable {
    package var rule: RegressionRule
    package var key: String
    package var current: Double
    /// The median of the window, nil when the history has no earlier value.
    package var median: Double?
    package var runs: Int
    package var regressed: Bool

    package var relativeChange: Double? {
        guard let median, median != 0 else { return nil }
        return (current - median) / abs(median)
    }

    /// The value past which the metric regresses, given the median.
    package var limit: Double? { median.map { rule.worse == .up ? $0 + abs($0) * rule.threshold : $0 - abs($0) * rule.threshold } }
}

/// Evaluates a spec's regression rules on the current audit's record against earlier records.
package struct RegressionEvaluator: Sendable {
    package let rules: [RegressionRule]

    package init(rules: [RegressionRule]) { self.rules = rules }

    /// Whether `current` moved past `rule` compared with the median of `previous` (the window's values).
    package static func regressed(_ rule: RegressionRule, current: Double, previous: [Double]) -> (Bool, Double?) {
        guard !previous.isEmpty else { return (false, nil) }
        let median = Self.median(Array(previous.suffix(rule.window)))
        let growth = rule.worse == .up ? current - median : median - current
        if median == 0 { return (growth > 0, median) }
        return (growth / abs(median) > rule.threshold, median)
    }

    package static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Every selected metric of `current`, compared with `history` (earlier runs of the same database, oldest first).
    package func evaluate(current: HistoryRecord, history: [HistoryRecord]) -> [RegressionEvaluation] {
        var evaluations: [RegressionEvaluation] = []
        var seen = Set<String>()
        for rule in rules {
            for key in current.keys(matching: rule.metric) where seen.insert(key).inserted {
                let value = current.value(key)!
                let previous = history.compactMap { $0.value(key) }
                let (regressed, median) = Self.regressed(rule, current: value, previous: previous)
                evaluations.append(
                    RegressionEvaluation(rule: rule, key: key, current: value, median: median, runs: min(previous.count, rule.window), regressed: regressed))
            }
        }
        return evaluations
    }

    /// The check result the report shows for the rules: a finding per regressed metric, with both figures.
    /// Without a history the rules cannot be evaluated, and the result says so (not run).
    package func result(current: HistoryRecord, history: [HistoryRecord]?) -> CheckResult {
        let severity = rules.map(\.severity).max() ?? .medium
        let specLine = rules.compactMap(\.line).min()
        guard let history else {
            var result = CheckResult(
                check: RegressionRule.checkIdentifier, collection: nil, severity: severity, status: .notRun,
                reason: "the spec declares regressions: but no --history was given to compare with", specLine: specLine)
            result.notRunCause = .refused
            return result
        }
        let evaluations = evaluate(current: current, history: history)
        let findings = evaluations.filter(\.regressed).map(finding)
        return CheckResult(
            check: RegressionRule.checkIdentifier, collection: nil, severity: severity,
            status: findings.contains { $0.severity > .info } ? .failed : .passed, findings: findings,
            metrics: [
                "metricsCompared": .count(evaluations.count), "metricsWithHistory": .count(evaluations.filter { $0.median != nil }.count),
                "runsInHistory": .count(history.count),
            ],
            specLine: specLine)
    }

    func finding(_ evaluation: RegressionEvaluation) -> Finding {
        let median = evaluation.median ?? 0
        let change = evaluation.relativeChange.map { String(format: "%+.1f%%", $0 * 100) } ?? "from zero"
        let verb = evaluation.current > median ? "rose" : "fell"
        let parts = evaluation.key.split(separator: "/", maxSplits: 2).map(String.init)
        let collection = parts.count > 2 && parts[1] != "-" ? parts[1] : nil
        var metrics: Metrics = [
            "current": .value(evaluation.current), "median": .value(median), "runs": .count(evaluation.runs),
            "threshold": .value(evaluation.rule.threshold),
        ]
        if let relative = evaluation.relativeChange { metrics["relativeChange"] = .value(relative) }
        return Finding(
            check: RegressionRule.checkIdentifier, collection: collection, kind: "regression", subject: evaluation.key,
            severity: evaluation.rule.severity,
            title:
                "\(evaluation.key) \(verb) from \(format(median)) (median of the last \(evaluation.runs) run(s)) to \(format(evaluation.current)) (\(change), threshold \(String(format: "%.0f%%", evaluation.rule.threshold * 100)) \(evaluation.rule.worse == .up ? "up" : "down"))",
            impact: "A figure that drifts past its usual range is a decay that fixed thresholds miss: something upstream changed.",
            metrics: metrics, facts: [("selector", evaluation.rule.metric), ("worse", evaluation.rule.worse.rawValue)])
    }
}

extension AuditReport {
    /// This report with one more check result (the regressions), its summary and outcome recomputed.
    package func adding(_ result: CheckResult) -> AuditReport {
        AuditReport(
            tool: tool, database: database, target: target, serverVersion: serverVersion, specFile: specFile, specSHA256: specSHA256,
            startedAt: startedAt, durationSeconds: durationSeconds, sampleSize: sampleSize, failOn: failOn, checks: checks + [result])
    }
}
