import Foundation
import MongoKit

/// Whether a check ran, and how it ended.
public enum CheckStatus: String, Sendable, CaseIterable {
    case passed, failed, notRun = "not_run"
}

/// Why a check did not run.
public enum NotRunCause: String, Sendable, CaseIterable {
    /// The server refused its work: a missing privilege, an unknown command, an old server.
    case refused
    /// Its work ran out of its time limit.
    case timedOut = "timed_out"
    /// The audit was asked to stop (a signal) before the check ran.
    case interrupted
    /// The server stopped answering during the audit (it ran when the audit started).
    case unreachable
    /// The audit's time budget was spent before the check started.
    case overBudget = "over_budget"
}

/// What a check produced when it ran: its findings and its own figures (documents scanned, values checked).
public struct CheckOutput: Sendable {
    public var findings: [Finding]
    public var metrics: Metrics

    public init(findings: [Finding] = [], metrics: Metrics = [:]) {
        self.findings = findings
        self.metrics = metrics
    }
}

/// The outcome of one configured check.
public struct CheckResult: Sendable {
    public var check: String
    public var collection: String?
    public var severity: Severity
    public var status: CheckStatus
    /// Why the check did not run, when it did not.
    public var reason: String?
    public var notRunCause: NotRunCause?
    public var durationSeconds: Double
    public var findings: [Finding]
    public var metrics: Metrics
    /// The line of the spec entry that configured the check.
    public var specLine: Int?
    /// When the check read a random sample of its collection: how many documents, of how many.
    public var sample: Sample?

    public struct Sample: Equatable, Sendable {
        public var size: Int
        public var of: Int
    }

    public init(
        check: String, collection: String?, severity: Severity, status: CheckStatus, reason: String? = nil,
        durationSeconds: Double = 0, findings: [Finding] = [], metrics: Metrics = [:], specLine: Int? = nil
    ) {
        self.check = check
        self.collection = collection
        self.severity = severity
        self.status = status
        self.reason = reason
        self.durationSeconds = durationSeconds
        self.findings = findings
        self.metrics = metrics
        self.specLine = specLine
    }

    public var json: JSONValue {
        .object([
            ("check", .string(check)), ("collection", collection.map(JSONValue.string) ?? .null),
            ("severity", .string(severity.rawValue)), ("status", .string(status.rawValue)),
            ("reason", reason.map(JSONValue.string) ?? .null), ("notRunCause", notRunCause.map { .string($0.rawValue) } ?? .null),
            ("durationSeconds", .number(durationSeconds)),
            ("specLine", specLine.map { .integer(Int64($0)) } ?? .null),
            ("sample", sample.map { .object([("size", .integer(Int64($0.size))), ("of", .integer(Int64($0.of)))]) } ?? .null),
            ("metrics", metrics.json),
            ("findings", .array(findings.map(\.json))),
        ])
    }
}
