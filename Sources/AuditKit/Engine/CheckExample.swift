import Foundation
import MongoKit
import SpecSupport

/// A small database state and a spec entry for one check, with the findings the check must report on it.
/// Every built-in check carries examples; the test suite runs them all against a real server.
public struct CheckExample: Sendable {
    public let title: String
    /// Commands that build the database state, run in order on an empty database.
    public let setup: [Document]
    /// The check's entry in a spec, as YAML.
    public let entry: String
    /// Exactly the findings above `info` the check must report, and any `info` ones worth pinning.
    public let expect: [ExpectedFinding]

    public init(_ title: String, setup: [Document], entry: String, expect: [ExpectedFinding] = []) {
        self.title = title
        self.setup = setup
        self.entry = entry
        self.expect = expect
    }

    /// True when the check must report nothing above info.
    public var passes: Bool { !expect.contains { $0.severity > .info } }
}

/// A finding an example must produce: its id and some of its figures (a proportion compares its count).
public struct ExpectedFinding: Sendable {
    public let id: String
    public let severity: Severity
    public let figures: [String: Double]

    /// `id` without the check's identifier, which the example knows: `collection/kind[/subject]`.
    public init(_ kindAndSubject: String, _ severity: Severity = .high, _ figures: [String: Double] = [:]) {
        id = kindAndSubject
        self.severity = severity
        self.figures = figures
    }

    /// What differs between this expectation and `finding`, or nil when it holds.
    public func mismatch(_ finding: Finding) -> String? {
        var problems: [String] = []
        if finding.severity != severity { problems.append("severity \(finding.severity.rawValue), expected \(severity.rawValue)") }
        for (name, expected) in figures.sorted(by: { $0.key < $1.key }) {
            guard let metric = finding.metrics[name] else {
                problems.append("no metric '\(name)'")
                continue
            }
            if metric.number != expected { problems.append("\(name) = \(metric.number), expected \(expected)") }
        }
        return problems.isEmpty ? nil : "\(finding.id): " + problems.joined(separator: "; ")
    }
}

extension Check {
    public static var examples: [CheckExample] { [] }
}
