import Foundation

/// Whether a check ran.
public enum CheckStatus: String, Codable, Sendable {
    case passed, failed, notRun = "not_run"
}

/// The outcome of one configured check.
public struct CheckResult: Codable, Sendable {
    public var check: String
    public var collection: String?
    public var severity: Severity
    public var status: CheckStatus
    /// Why the check did not run, when it did not.
    public var reason: String?
    public var durationSeconds: Double
    public var findings: [Finding]
}
