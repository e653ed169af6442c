import Foundation
import MongoKit
import SpecSupport

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

/// Runs the checks of a spec against one database, read-only.
public struct Auditor {
    public let spec: AuditSpec
    public let maxTimeMS: Int

    public init(spec: AuditSpec, maxTimeMS: Int = 60_000) {
        self.spec = spec
        self.maxTimeMS = maxTimeMS
    }

    /// Audits `database`. Connection-level failures (unreachable, authentication, timeout, network) end the
    /// audit by throwing; a command the server refuses for one check marks that check as not run.
    public func run(on client: MongoClient, database name: String, failOn: Severity) throws -> AuditReport {
        let started = Date()
        try client.ping()
        let serverVersion = try client.serverVersion()
        let context = AuditContext(database: client.database(name), maxTimeMS: maxTimeMS, now: started)
        var results: [CheckResult] = []
        for configured in spec.checks {
            let checkStarted = Date()
            var result = CheckResult(
                check: configured.identifier, collection: configured.check.collection, severity: configured.severity,
                status: .passed, reason: nil, durationSeconds: 0, findings: [])
            do {
                result.findings = try configured.check.run(in: context, severity: configured.severity)
                result.status = result.findings.contains { $0.severity > .info } ? .failed : .passed
            } catch MongoError.command(let code, let codeName, let message) {
                result.status = .notRun
                result.reason = "the server refused a command: \(message) (code \(code) \(codeName))"
            }
            result.durationSeconds = Date().timeIntervalSince(checkStarted)
            results.append(result)
        }
        return AuditReport(
            database: name, target: client.redactedURI, serverVersion: serverVersion, specFile: spec.file,
            specSHA256: spec.sha256, startedAt: started, durationSeconds: Date().timeIntervalSince(started),
            failOn: failOn, checks: results)
    }
}
