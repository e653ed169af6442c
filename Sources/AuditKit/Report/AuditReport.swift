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

/// A date as ISO 8601 in UTC to the nearest millisecond (`2026-11-22T09:07:12.083Z`), what
/// ISO8601DateFormatter writes with fractional seconds (in the Gregorian calendar: the formatter switches
/// to the Julian before 1583). Written by hand: the formatter loads ICU's data, about 6 MB of memory at
/// the end of every audit.
func timestamp(_ date: Date) -> String {
    // A BSON date near the ends of the int64 range rounds to 2^63 as a double: written as a count, never trapped on.
    guard let milliseconds = Int64(exactly: (date.timeIntervalSince1970 * 1_000).rounded()), -(1 << 62) < milliseconds, milliseconds < 1 << 62 else {
        return String(format: "%.0f ms since 1970", date.timeIntervalSince1970 * 1_000)
    }
    let (days, dayMilliseconds) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
    let (day, millisecond) = dayMilliseconds < 0 ? (days - 1, dayMilliseconds + 86_400_000) : (days, dayMilliseconds)
    // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
    let shifted = day + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    let seconds = millisecond / 1_000
    return "\(padded(year, 4))-\(padded(month, 2))-\(padded(dayOfMonth, 2))T\(padded(seconds / 3_600, 2)):\(padded(seconds / 60 % 60, 2))"
        + ":\(padded(seconds % 60, 2)).\(padded(millisecond % 1_000, 3))Z"
}
