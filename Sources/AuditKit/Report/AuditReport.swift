import Foundation
import MongoKit

/// How an audit ended, for the gate.
public enum AuditOutcome: String, Sendable, CaseIterable {
    /// No finding at or above the gate's severity, and every check ran.
    case passed
    /// At least one finding at or above the gate's severity.
    case failed
    /// No finding at or above the gate, but some check could not run.
    case incomplete
}

/// Everything an audit found, in the shape of the versioned JSON report (`docs/report-schema.json`).
public struct AuditReport: Sendable {
    public static let schemaName = "mongo-audit/report"
    public static let schemaVersion = 2

    public struct Summary: Sendable {
        /// Findings per severity.
        public var findings: [Severity: Int]
        public var checksPassed: Int
        public var checksFailed: Int
        public var checksNotRun: Int
    }

    /// The program that made the report (name and version), as the embedding application names itself.
    public var tool: String
    public var database: String
    /// The connection string with its secrets hidden.
    public var target: String
    public var serverVersion: String
    public var specFile: String
    public var specSHA256: String
    public var startedAt: Date
    public var durationSeconds: Double
    /// The sample size per collection, when figures are estimates from a random sample.
    public var sampleSize: Int?
    public var failOn: Severity
    public var outcome: AuditOutcome
    public var summary: Summary
    public var checks: [CheckResult]

    /// Whether every figure is exact (full scans) rather than estimated from a sample.
    public var exact: Bool { sampleSize == nil && checks.allSatisfy { $0.sample == nil } }

    public init(
        tool: String = "AuditKit", database: String, target: String, serverVersion: String, specFile: String,
        specSHA256: String, startedAt: Date, durationSeconds: Double, sampleSize: Int? = nil, failOn: Severity,
        checks: [CheckResult]
    ) {
        self.tool = tool
        self.database = database
        self.target = target
        self.serverVersion = serverVersion
        self.specFile = specFile
        self.specSHA256 = specSHA256
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.sampleSize = sampleSize
        self.failOn = failOn
        self.checks = checks
        let findings = checks.flatMap(\.findings)
        summary = Summary(
            findings: Dictionary(uniqueKeysWithValues: Severity.allCases.map { severity in (severity, findings.filter { $0.severity == severity }.count) }),
            checksPassed: checks.filter { $0.status == .passed }.count,
            checksFailed: checks.filter { $0.status == .failed }.count,
            checksNotRun: checks.filter { $0.status == .notRun }.count)
        outcome = findings.contains { $0.severity >= failOn } ? .failed : summary.checksNotRun > 0 ? .incomplete : .passed
    }

    public var allFindings: [Finding] { checks.flatMap(\.findings) }

    /// The findings at or above the gate.
    public var gatedFindings: [Finding] { allFindings.filter { $0.severity >= failOn } }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("schema", .string(Self.schemaName)), ("schemaVersion", .integer(Int64(Self.schemaVersion))), ("tool", .string(tool)),
            ("database", .string(database)), ("target", .string(target)), ("serverVersion", .string(serverVersion)),
            ("specFile", .string(specFile)), ("specSHA256", .string(specSHA256)), ("startedAt", .string(timestamp(startedAt))),
            ("durationSeconds", .number(durationSeconds)), ("exact", .bool(exact)),
        ]
        if let sampleSize { fields.append(("sampleSize", .integer(Int64(sampleSize)))) }
        fields += [
            ("failOn", .string(failOn.rawValue)), ("outcome", .string(outcome.rawValue)),
            (
                "summary",
                .object([
                    ("findings", .object(Severity.descending.map { ($0.rawValue, .integer(Int64(summary.findings[$0] ?? 0))) })),
                    ("checksPassed", .integer(Int64(summary.checksPassed))), ("checksFailed", .integer(Int64(summary.checksFailed))),
                    ("checksNotRun", .integer(Int64(summary.checksNotRun))),
                ])
            ),
            ("checks", .array(checks.map(\.json))),
        ]
        return .object(fields)
    }
}

func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}
