import Foundation
import MongoKit
import SpecSupport

/// The exit codes of `mongo-audit`, documented in the README and in `mongo-audit --help`.
public enum AuditExitCode: Int32, CaseIterable, Sendable {
    case passed = 0
    case findings = 1
    case invalidInput = 2
    case unreachable = 3
    case authentication = 4
    case timeout = 5
    case commandFailed = 6
    case internalError = 70

    public var meaning: String {
        switch self {
        case .passed: return "audit passed: no finding at or above --fail-on"
        case .findings: return "findings at or above --fail-on"
        case .invalidInput: return "invalid arguments, spec or migration file"
        case .unreachable: return "server unreachable (no server selected in time, or the connection broke)"
        case .authentication: return "authentication failed"
        case .timeout: return "an operation timed out (maxTimeMS or socket timeout)"
        case .commandFailed: return "the server refused a command, or a check could not run"
        case .internalError: return "internal error in mongo-audit"
        }
    }
}

/// Everything an audit found, in the shape of the versioned JSON report (schema "mongo-audit/report", v1).
public struct AuditReport: Codable, Sendable {
    public static let schemaName = "mongo-audit/report"
    public static let schemaVersion = 1

    public struct Summary: Codable, Sendable {
        public var findings: [String: Int]
        public var checksPassed: Int
        public var checksFailed: Int
        public var checksNotRun: Int
    }

    public var schema = AuditReport.schemaName
    public var schemaVersion = AuditReport.schemaVersion
    public var tool = "mongo-audit \(toolVersion)"
    public var database: String
    /// The connection string with the password hidden.
    public var target: String
    public var serverVersion: String
    public var specFile: String
    public var specSHA256: String
    public var startedAt: Date
    public var durationSeconds: Double
    /// Whether figures are exact (full scans) or estimated from a sample.
    public var exact = true
    /// The sample size, when figures come from a random sample (`--sample`).
    public var sampleSize: Int?
    public var failOn: Severity
    public var outcome: String
    public var exitCode: Int32
    public var summary: Summary
    public var checks: [CheckResult]

    public init(
        database: String, target: String, serverVersion: String, specFile: String, specSHA256: String,
        startedAt: Date, durationSeconds: Double, failOn: Severity, checks: [CheckResult]
    ) {
        self.database = database
        self.target = target
        self.serverVersion = serverVersion
        self.specFile = specFile
        self.specSHA256 = specSHA256
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.failOn = failOn
        self.checks = checks
        let findings = checks.flatMap(\.findings)
        var counts: [String: Int] = [:]
        for severity in Severity.allCases { counts[severity.rawValue] = findings.filter { $0.severity == severity }.count }
        summary = Summary(
            findings: counts, checksPassed: checks.filter { $0.status == .passed }.count,
            checksFailed: checks.filter { $0.status == .failed }.count,
            checksNotRun: checks.filter { $0.status == .notRun }.count)
        let gate: AuditExitCode =
            findings.contains { $0.severity >= failOn } ? .findings : summary.checksNotRun > 0 ? .commandFailed : .passed
        exitCode = gate.rawValue
        outcome = gate == .passed ? "passed" : gate == .findings ? "failed" : "incomplete"
    }

    public var allFindings: [Finding] { checks.flatMap(\.findings) }
}

public let toolVersion = "0.1.0"

extension AuditExitCode {
    /// The exit code for a database error that stopped the command.
    public init(_ error: MongoError) {
        switch error {
        case .serverSelection, .network: self = .unreachable
        case .authentication: self = .authentication
        case .timeout: self = .timeout
        case .invalidURI: self = .invalidInput
        case .command, .invalidDocument, .other: self = .commandFailed
        }
    }
}
