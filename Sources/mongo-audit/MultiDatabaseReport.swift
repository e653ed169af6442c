import AuditKit
import Foundation
import MongoKit
import TextEscaping

/// The databases `--database` names: each as given, or every database whose name matches a pattern with
/// `*` and `?` (from `listDatabases`, which needs that privilege).
struct DatabaseSelection {
    let requested: [String]

    init(_ requested: [String]) { self.requested = requested }

    func names(on client: MongoClient) throws -> [String] {
        guard requested.contains(where: { $0.contains("*") || $0.contains("?") }) else { return requested }
        let existing = try client.listDatabaseNames().sorted()
        var names: [String] = []
        for entry in requested {
            let matched = entry.contains("*") || entry.contains("?") ? existing.filter { fnmatch(entry, $0, 0) == 0 } : [entry]
            guard !matched.isEmpty else { throw AuditCommandError("no database matches --database \(entry)") }
            names += matched.filter { !names.contains($0) }
        }
        return names
    }
}

struct AuditCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One database's report as its format renders it, or several: a section per database for people,
/// one JSON report per line (JSON Lines, each valid against the report schema), one JUnit test suite each.
struct MultiDatabaseReport {
    static let formats: Set<ReportFormat> = [.text, .json, .junit, .markdown]

    let reports: [AuditReport]
    let format: ReportFormat

    func render(colour: Bool) throws -> String {
        guard reports.count != 1 else { return try format.reporter(colour: colour).render(reports[0]) }
        switch format {
        case .json:
            return reports.map { $0.json.text(pretty: false) + "\n" }.joined()
        case .junit:
            return JUnitReporter().render(suitesOf: reports)
        default:
            var sections = try reports.map { try format.reporter(colour: colour).render($0) }
            let worst = Self.worst(reports.map(AuditExitCode.init))
            let escape = format == .markdown ? Escape.markdownText : Escape.terminal
            let failed = reports.filter { $0.outcome != .passed }.map { escape($0.database) }
            sections.append(
                "Databases: \(reports.count) audited, \(failed.isEmpty ? "all passed" : "not passed: " + failed.joined(separator: ", ")) (exit \(worst.rawValue))\n"
            )
            return sections.joined(separator: format == .markdown ? "\n---\n\n" : "\n")
        }
    }

    /// The exit code of several audits: findings first (the gate), then the most serious failure to audit.
    static func worst(_ codes: [AuditExitCode]) -> AuditExitCode {
        let order: [AuditExitCode] = [.findings, .unreachable, .authentication, .timeout, .commandFailed, .passed]
        return order.first { codes.contains($0) } ?? .passed
    }
}
