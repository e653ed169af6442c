import Foundation
import MongoKit

/// One thing wrong with the database (or, at `info`, worth knowing): what, why it matters, how to fix it,
/// and the figures behind it.
public struct Finding: Equatable, Sendable {
    /// Stable identity: `check/collection/kind[/subject]`, built from what the finding is about and never
    /// from its figures, so baselines and trends can follow it from one audit to the next.
    public var id: String { [check, collection ?? "-", kind].joined(separator: "/") + (subject.map { "/\($0)" } ?? "") }
    public var check: String
    public var collection: String?
    /// What sort of finding within its check, in snake_case (`missing_index`, `end_before_start`, …).
    public var kind: String
    /// What it is about within the collection: a field, index keys, a rule, a query or a reference.
    public var subject: String?
    public var severity: Severity
    /// What is wrong, in one line, for people.
    public var title: String
    /// Why it matters.
    public var impact: String
    /// The exact command that fixes it (or finds the offending documents), when there is one.
    public var fix: String?
    /// The figures behind the finding.
    public var metrics: Metrics
    /// A few `_id`s of documents it is about, as the server holds them.
    public var examples: [BSONValue]
    /// Words, not figures: the index that serves a query, the plan, the expected types.
    public var facts: [(name: String, text: String)]
    /// For a missing index: its `createIndexes` entry, so a migration can be written from the finding.
    public var indexToCreate: Document?

    public init(
        check: String, collection: String?, kind: String, subject: String? = nil, severity: Severity, title: String,
        impact: String, fix: String? = nil, metrics: Metrics = [:], examples: [BSONValue] = [],
        facts: [(name: String, text: String)] = [], indexToCreate: Document? = nil
    ) {
        self.check = check
        self.collection = collection
        self.kind = kind
        self.subject = subject
        self.severity = severity
        self.title = title
        self.impact = impact
        self.fix = fix
        self.metrics = metrics
        self.examples = examples
        self.facts = facts
        self.indexToCreate = indexToCreate
    }

    public static func == (lhs: Finding, rhs: Finding) -> Bool {
        lhs.id == rhs.id && lhs.severity == rhs.severity && lhs.title == rhs.title && lhs.impact == rhs.impact
            && lhs.fix == rhs.fix && lhs.metrics == rhs.metrics && lhs.examples == rhs.examples
            && lhs.facts.map(\.name) == rhs.facts.map(\.name) && lhs.facts.map(\.text) == rhs.facts.map(\.text)
            && lhs.indexToCreate == rhs.indexToCreate
    }

    /// A fact by name.
    public func fact(_ name: String) -> String? { facts.first { $0.name == name }?.text }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .string(id)), ("check", .string(check)), ("collection", collection.map(JSONValue.string) ?? .null),
            ("kind", .string(kind)), ("subject", subject.map(JSONValue.string) ?? .null), ("severity", .string(severity.rawValue)),
            ("title", .string(title)), ("impact", .string(impact)), ("fix", fix.map(JSONValue.string) ?? .null),
            ("metrics", metrics.json), ("examples", .array(examples.map(\.extendedJSON))),
            ("facts", .object(facts.map { ($0.name, .string($0.text)) })),
        ]
        fields.append(("indexToCreate", indexToCreate?.extendedJSON ?? .null))
        return .object(fields)
    }
}
