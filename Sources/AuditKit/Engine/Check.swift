import Foundation
import MongoKit
import SpecSupport
import TextEscaping

/// The static description of a check: what `mongo-audit checks` lists and what a spec is validated against.
public struct CheckDescription: Sendable {
    /// Stable snake_case identifier used in specs and reports.
    public let identifier: String
    public let name: String
    public let summary: String
    public let defaultSeverity: Severity
    /// What the check needs from the server (commands and privileges), so a user can grant them.
    public let needs: String
    /// Options beyond the common ones (`check`, `severity`, `time_limit_ms`).
    public let options: [CheckOption]
    /// The figures the check's findings carry, each with the way it gets worse: what a baseline and a diff compare.
    public let metrics: [MetricDeclaration]

    public init(
        identifier: String, name: String, summary: String, defaultSeverity: Severity, needs: String, options: [any DeclaresOption],
        metrics: [MetricDeclaration] = []
    ) {
        self.identifier = identifier
        self.name = name
        self.summary = summary
        self.defaultSeverity = defaultSeverity
        self.needs = needs
        self.options = options.map(\.declaration)
        self.metrics = metrics
    }

    public func metric(named name: String) -> MetricDeclaration? { metrics.first { $0.name == name } }

    static let checkOption = TypedOption<String>.text("check", "which check to run", required: true)
    static let severityOption = TypedOption<Severity>("severity", type: "critical|high|medium|low|info", "overrides the check's default severity") {
        node in
        let text = try node.string()
        guard let severity = Severity(rawValue: text) else {
            throw node.error("expected one of critical, high, medium, low, info; got \"\(text)\"")
        }
        return severity
    }
    static let timeLimitOption = TypedOption<Int>.integer(
        "time_limit_ms", "time limit of each server operation of the check (default --max-time-ms)", in: 1...86_400_000)

    static let maxDocumentsOption = TypedOption<Int>.integer(
        "max_documents", "document checks: above this many documents the collection is audited from a random sample of that many",
        in: 1...1_000_000_000)

    /// Options every check accepts.
    public static let commonOptions = [
        checkOption.declaration, severityOption.declaration, timeLimitOption.declaration, maxDocumentsOption.declaration,
    ]

    public var allowedFields: [String] { (CheckDescription.commonOptions + options).map(\.name) }
}

/// A figure a check's findings carry: its name, its unit, and which way it gets worse (nil: not compared,
/// as thresholds and totals are).
public struct MetricDeclaration: Sendable, Equatable {
    public let name: String
    public let unit: MetricUnit
    public let worse: MetricDirection?

    public init(_ name: String, _ unit: MetricUnit, worse: MetricDirection?) {
        self.name = name
        self.unit = unit
        self.worse = worse
    }

    /// Worse when it grows (violations, orphans, latencies).
    public static func worseUp(_ name: String, _ unit: MetricUnit) -> Self { Self(name, unit, worse: .up) }
    /// Worse when it falls (completeness).
    public static func worseDown(_ name: String, _ unit: MetricUnit) -> Self { Self(name, unit, worse: .down) }
    /// Reported, never compared (thresholds, totals, run counts).
    public static func notCompared(_ name: String, _ unit: MetricUnit) -> Self { Self(name, unit, worse: nil) }
}

/// What a figure counts or measures.
public enum MetricUnit: String, Sendable {
    case documents, values, indexes, queries, runs, milliseconds, seconds, share
}

/// A check of a database. A conforming type declares its options once (as `TypedOption`s listed in its
/// description), reads them when it is made (failing closed on anything invalid), and reports findings
/// with their figures when it runs. Adding one is one file plus one line in `CheckRegistry.builtIn`.
public protocol Check: Sendable {
    static var description: CheckDescription { get }
    /// Database states with the findings the check must report on each; they double as tests.
    static var examples: [CheckExample] { get }
    /// Reads the check's options from its spec entry; throws `SpecError` for anything invalid.
    init(options: SpecFields) throws
    /// The collection the check is about, if it is about one (for reports).
    var collection: String? { get }
    /// Runs the check. `severity` is the one in force (the default or the spec's override).
    func run(in context: AuditContext, severity: Severity) throws -> CheckOutput
    /// Called once after every check of an audit has run, with all results: a check whose findings depend
    /// on another check's amends its own here. The default does nothing.
    static func annotate(_ results: inout [CheckResult])
    /// The check's entries in a starter spec (`mongo-audit init`), from the profile; the default proposes nothing.
    static func starterEntries(_ input: StarterInput) throws -> [StarterEntry]
}

extension Check {
    public static func annotate(_ results: inout [CheckResult]) {}
}

extension Check {
    /// Builds a finding of this check, about its collection unless `place` names another.
    func finding(
        _ kind: String, in place: String? = nil, subject: String? = nil, severity: Severity, title: String, impact: String, fix: String? = nil,
        metrics: Metrics = [:], examples: [BSONValue] = [], facts: [(name: String, text: String)] = [], indexToCreate: Document? = nil
    ) -> Finding {
        Finding(
            check: Self.description.identifier, collection: place ?? collection, kind: kind, subject: subject, severity: severity, title: title,
            impact: impact, fix: fix, metrics: metrics, examples: examples, facts: facts, indexToCreate: indexToCreate)
    }
}

/// Everything a check may read while it runs. It holds only read operations: an audit never writes.
///
/// Sendable because every mutable stored property (`state`) is read and written only while holding `lock`;
/// the others are `let`s of Sendable types. The auditor gives each pass its own context, but an embedder may
/// share one across threads, and the caches below fill on first use from whichever thread asks.
public final class AuditContext: @unchecked Sendable {
    public let database: MongoDatabase
    public let now: Date
    /// Where reads of the checks go (a secondary when available, by default).
    public let readPreference: ReadPreference
    private let lock = NSLock()
    private var state: State

    private struct State {
        var maxTimeMS: Int
        var sampleSize: Int?
        var collectionInfos: [CollectionInfo]?
        var indexCache: [String: [IndexSpec]] = [:]
    }

    /// The time limit of each server operation of the check that runs now.
    public internal(set) var maxTimeMS: Int {
        get { lock.withLock { state.maxTimeMS } }
        set { lock.withLock { state.maxTimeMS = newValue } }
    }

    /// The documents a sampled audit reads per collection (`--sample`); nil when the audit is exact. A check
    /// that executes queries of its own bounds them by the sample (query_plans runs each over its first
    /// documents only) and says so in its findings.
    public internal(set) var sampleSize: Int? {
        get { lock.withLock { state.sampleSize } }
        set { lock.withLock { state.sampleSize = newValue } }
    }

    public init(
        database: MongoDatabase, maxTimeMS: Int, now: Date = Date(), readPreference: ReadPreference = .secondaryPreferred, sampleSize: Int? = nil
    ) {
        self.database = database
        self.now = now
        self.readPreference = readPreference
        state = State(maxTimeMS: maxTimeMS, sampleSize: sampleSize)
    }

    /// `listCollections` of the audited database, read once per audit (two threads asking at once may both
    /// read it; the lock is not held across the server call).
    public func collections() throws -> [CollectionInfo] {
        if let cached = lock.withLock({ state.collectionInfos }) { return cached }
        let infos = try database.listCollections(maxTimeMS: maxTimeMS)
        lock.withLock { state.collectionInfos = infos }
        return infos
    }

    /// `listIndexes` of a collection, read once per audit.
    public func indexes(of collection: String) throws -> [IndexSpec] {
        if let cached = lock.withLock({ state.indexCache[collection] }) { return cached }
        let indexes = try database.collection(collection).listIndexes(maxTimeMS: maxTimeMS)
        lock.withLock { state.indexCache[collection] = indexes }
        return indexes
    }

    /// A command as a user pastes it into mongosh, e.g. `db.getSiblingDB("x").runCommand({...})`.
    public func shellCommand(_ command: Document) -> String {
        "db.getSiblingDB(\(Escape.mongoshString(database.name))).runCommand(\(command.relaxedJSON))"
    }

    /// A collection of the audited database as mongosh names it, both names string literals (never
    /// `db.name`, which a name such as `x.drop();db.x` would turn into code).
    public func shellCollection(_ name: String) -> String {
        "db.getSiblingDB(\(Escape.mongoshString(database.name))).getCollection(\(Escape.mongoshString(name)))"
    }
}

/// The checks a spec can name, keyed by identifier. `builtIn` is the only list of built-in checks; an
/// application adds its own with `registering(_:)`.
public struct CheckRegistry: Sendable {
    public private(set) var checks: [any Check.Type]

    public static let builtIn = CheckRegistry(checks: [
        RequiredCollectionsCheck.self,
        CriticalIndexesCheck.self,
        FieldCompletenessCheck.self,
        LiveHistoricCheck.self,
        ValueRulesCheck.self,
        DocumentRulesCheck.self,
        UniqueValuesCheck.self,
        ReferencesCheck.self,
        QueryPlansCheck.self,
        IndexHygieneCheck.self,
        FreshnessCheck.self,
        VolumeCheck.self,
    ])

    public init(checks: [any Check.Type]) {
        self.checks = checks
    }

    /// This registry plus `check`; a check whose identifier is already taken replaces nothing and is refused.
    public func registering(_ check: any Check.Type) throws -> CheckRegistry {
        guard self.check(identifier: check.description.identifier) == nil else {
            throw CheckRegistryError.duplicateIdentifier(check.description.identifier)
        }
        return CheckRegistry(checks: checks + [check])
    }

    public func check(identifier: String) -> (any Check.Type)? {
        checks.first { $0.description.identifier == identifier }
    }

    public var identifiers: [String] { checks.map { $0.description.identifier } }

    /// The way a finding's figure gets worse, as its check declares it; nil when it is not compared or the
    /// check is not registered (a finding of a plug-in check absent now).
    package func worseDirection(ofMetric name: String, check identifier: String) -> MetricDirection? {
        check(identifier: identifier)?.description.metric(named: name)?.worse
    }
}

public enum CheckRegistryError: Error, Equatable {
    case duplicateIdentifier(String)
}
