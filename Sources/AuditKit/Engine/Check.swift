import Foundation
import MongoKit
import SpecSupport

/// One option a check accepts in a spec.
public struct CheckOption: Sendable {
    public let name: String
    public let type: String
    public let summary: String
    public let required: Bool

    public init(_ name: String, _ type: String, _ summary: String, required: Bool = false) {
        self.name = name
        self.type = type
        self.summary = summary
        self.required = required
    }
}

/// The static description of a check: what `mongo-audit checks` lists and what a spec is validated against.
public struct CheckDescription: Sendable {
    /// Stable snake_case identifier used in specs and reports.
    public let identifier: String
    public let name: String
    public let summary: String
    public let defaultSeverity: Severity
    /// What the check needs from the server (commands and privileges), so a user can grant them.
    public let needs: String
    /// Options beyond the common ones (`check`, `severity`).
    public let options: [CheckOption]

    /// Field names every check accepts.
    public static let commonOptions = [
        CheckOption("check", "identifier", "which check to run", required: true),
        CheckOption("severity", "critical|high|medium|low|info", "overrides the check's default severity"),
        CheckOption("time_limit_ms", "int", "time limit of each server operation of the check (default --max-time-ms)"),
    ]

    public var allowedFields: [String] { (CheckDescription.commonOptions + options).map(\.name) }
}

/// A check of a database. Each conforming type validates its own options when it is made (failing
/// closed on anything it does not know) and reports findings when it runs.
public protocol Check {
    static var description: CheckDescription { get }
    /// Database states on which the check passes and fails; they double as tests.
    static var examples: [CheckExample] { get }
    /// Reads the check's options from its spec entry; throws `SpecError` for anything invalid.
    init(options: SpecFields) throws
    /// The collection the check is about, if it is about one (for reports).
    var collection: String? { get }
    /// Runs the check. `severity` is the one in force (the default or the spec's override).
    func run(in context: AuditContext, severity: Severity) throws -> [Finding]
}

/// Everything a check may read while it runs. It holds only read operations: an audit never writes.
public final class AuditContext {
    public let database: MongoDatabase
    /// The time limit of each server operation of the check that runs now.
    public internal(set) var maxTimeMS: Int
    public let now: Date
    /// Where reads of the checks go (a secondary when available, by default).
    public let readPreference: ReadPreference
    private var collectionInfos: [CollectionInfo]?
    private var indexCache: [String: [IndexSpec]] = [:]

    public init(database: MongoDatabase, maxTimeMS: Int, now: Date = Date(), readPreference: ReadPreference = .secondaryPreferred) {
        self.database = database
        self.maxTimeMS = maxTimeMS
        self.now = now
        self.readPreference = readPreference
    }

    /// `listCollections` of the audited database, read once per audit.
    public func collections() throws -> [CollectionInfo] {
        if let collectionInfos { return collectionInfos }
        let infos = try database.listCollections(maxTimeMS: maxTimeMS)
        collectionInfos = infos
        return infos
    }

    /// `listIndexes` of a collection, read once per audit.
    public func indexes(of collection: String) throws -> [IndexSpec] {
        if let cached = indexCache[collection] { return cached }
        let indexes = try database.collection(collection).listIndexes(maxTimeMS: maxTimeMS)
        indexCache[collection] = indexes
        return indexes
    }

    /// A command as a user pastes it into mongosh, e.g. `db.getSiblingDB("x").runCommand({...})`.
    public func shellCommand(_ command: Document) -> String {
        "db.getSiblingDB(\"\(database.name)\").runCommand(\(command.relaxedJSON))"
    }
}

/// The built-in checks, keyed by identifier. Add a check here and nowhere else.
public let builtInChecks: [any Check.Type] = [
    RequiredCollectionsCheck.self,
    CriticalIndexesCheck.self,
    FieldCompletenessCheck.self,
    LiveHistoricCheck.self,
    ValueRulesCheck.self,
    UniqueValuesCheck.self,
    ReferencesCheck.self,
    QueryPlansCheck.self,
    IndexHygieneCheck.self,
]

public func checkType(identifier: String) -> (any Check.Type)? {
    builtInChecks.first { $0.description.identifier == identifier }
}
