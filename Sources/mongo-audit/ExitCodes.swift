import AuditKit
import MongoKit

/// The version `mongo-audit --version` prints and reports carry.
let toolVersion = "0.2.0"
let toolName = "mongo-audit \(toolVersion)"

/// The exit codes of `mongo-audit`, documented in the README and in `mongo-audit --help`.
enum AuditExitCode: Int32, CaseIterable, Sendable {
    case passed = 0
    case findings = 1
    case invalidInput = 2
    case unreachable = 3
    case authentication = 4
    case timeout = 5
    case commandFailed = 6
    case internalError = 70
    /// Stopped by SIGINT (130) or SIGTERM (143); the partial report was written.
    case stopped = 130

    var meaning: String {
        switch self {
        case .passed: return "audit passed: no finding at or above --fail-on"
        case .findings: return "findings at or above --fail-on"
        case .invalidInput: return "invalid arguments, spec or migration file"
        case .unreachable: return "server unreachable (no server selected in time, or the connection broke)"
        case .authentication: return "authentication failed"
        case .timeout: return "an operation timed out (maxTimeMS or socket timeout)"
        case .commandFailed: return "the server refused a command, or a check could not run"
        case .internalError: return "internal error in mongo-audit"
        case .stopped: return "stopped by SIGINT (130) or SIGTERM (143): a migration's lock is released, an audit's partial report written"
        }
    }

    /// The exit code for a database error that stopped the command.
    init(_ error: MongoError) {
        switch error {
        case .serverSelection, .network: self = .unreachable
        case .authentication: self = .authentication
        case .timeout: self = .timeout
        case .invalidURI: self = .invalidInput
        case .command, .invalidDocument, .other: self = .commandFailed
        }
    }

    /// The exit code of an audit: by its outcome; an incomplete audit whose checks timed out exits as a timeout.
    init(_ report: AuditReport) {
        switch report.outcome {
        case .passed: self = .passed
        case .failed: self = .findings
        case .incomplete:
            let causes = Set(report.checks.compactMap(\.notRunCause))
            self = causes.contains(.unreachable) ? .unreachable : causes.contains(.timedOut) ? .timeout : .commandFailed
        }
    }
}
