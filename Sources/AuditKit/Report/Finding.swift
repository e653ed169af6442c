import Foundation

/// One thing wrong with the database: what, why it matters, and how to fix it.
public struct Finding: Codable, Equatable, Sendable {
    public var check: String
    public var collection: String?
    public var severity: Severity
    /// What is wrong, in one line.
    public var title: String
    /// Why it matters.
    public var impact: String
    /// The exact command that fixes it, when there is one.
    public var fix: String?
    /// Figures behind the finding (counts, index names, examples), as text for every report format.
    public var details: [String: String]
    /// For a missing index: its `createIndexes` entry as canonical Extended JSON, so that a migration
    /// can be written from the finding.
    public var indexToCreate: String?

    public init(
        check: String, collection: String?, severity: Severity, title: String, impact: String, fix: String? = nil,
        details: [String: String] = [:], indexToCreate: String? = nil
    ) {
        self.indexToCreate = indexToCreate
        self.check = check
        self.collection = collection
        self.severity = severity
        self.title = title
        self.impact = impact
        self.fix = fix
        self.details = details
    }
}
