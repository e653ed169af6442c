import Foundation
import MongoKit
import TextEscaping
import Yams

/// Writes a commented starter spec (YAML) from a database's profile and indexes. Each check proposes its own
/// entries (`Check.starterEntries`); this only assembles them, and Yams writes every scalar, so any name or
/// value read from the database parses back to itself. Every rule is derived so that the spec passes on
/// the database it came from (when profiled in full); guessed rules are kept only when the check passes.
public struct StarterSpec: Sendable {
    public var sample: Int?
    /// The time limit of each read; 0 leaves it to the client's default (`ClientOptions.defaultMaxTimeMS`).
    public var maxTimeMS: Int
    /// Low-cardinality strings with at most this many distinct values get an `in` rule.
    public var maxInValues = 10
    /// Values checked per candidate reference before the whole reference check is run.
    public var referenceSampleSize = 20
    /// The checks asked for entries, in this order.
    public var registry = CheckRegistry.builtIn

    package init(sample: Int? = nil, maxTimeMS: Int = 0) {
        self.sample = sample
        self.maxTimeMS = maxTimeMS
    }

    package struct Result: Sendable {
        package let text: String
        package let profile: ProfileReport
    }

    /// The time limit of each server operation, nil when unlimited.
    var timeLimit: Int? { maxTimeMS > 0 ? maxTimeMS : nil }

    package func generate(from database: MongoDatabase, now: Date = Date()) throws -> Result {
        let profile = try DatabaseProfiler(sample: sample, maxTimeMS: maxTimeMS).run(on: database)
        var out = """
            # Starter spec written by `mongo-audit init` from database "\(Escape.yamlComment(database.name))" (MongoDB \(Escape.yamlComment(profile.serverVersion)))
            # on \(ISO8601DateFormatter().string(from: now)), from \(sample.map { "a random sample of \($0) documents per collection" } ?? "every document").
            # Every rule states what the database looks like today: completeness just under what was seen,
            # (from a sample: completeness and ranges counted on the server over every document),
            # value sets and ranges exactly as seen. Review it, tighten what matters, delete what does not.

            version: 1
            database: \(try yamlScalar(.text(database.name)))

            checks:

            """
        out += try entries(StarterInput(spec: self, database: database, profile: profile, collection: nil))
        for collection in profile.collections where StarterInput.survivesLoading(collection.collection) {
            out +=
                "\n  # ---- \(Escape.yamlComment(collection.collection)): \(collection.documents) document(s)\(collection.sampled != nil ? " in the sample" : ""), \(collection.paths.count) path(s)\n"
            guard collection.documents > 0 else {
                out += "  # (empty: no field rules)\n"
                continue
            }
            out += try entries(StarterInput(spec: self, database: database, profile: profile, collection: collection))
        }
        return Result(text: out, profile: profile)
    }

    private func entries(_ input: StarterInput) throws -> String {
        try registry.checks.map { check in
            try check.starterEntries(input).map { try Self.render($0, check: check.description.identifier) }.joined()
        }.joined()
    }

    /// One entry of the `checks:` list, indented under it: its comments, then the entry (commented out when
    /// it is only suggested).
    static func render(_ entry: StarterEntry, check: String) throws -> String {
        let mapping = StarterValue.options([("check", .plain(check))] + entry.fields, flow: false)
        let text = try Yams.serialize(node: .sequence(.init([mapping.node], .implicit, .block)), indent: 2, width: -1, allowUnicode: true)
        var lines = entry.comments.map { "  # \(Escape.yamlComment($0))" }
        for line in text.split(separator: "\n") { lines.append(entry.suggested ? "  # \(line)" : "  \(line)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A value in a starter spec entry; Yams chooses the quoting of each scalar.
public indirect enum StarterValue: Sendable {
    /// Text read from the database (names, values): always double-quoted, so it reads back as written.
    case text(String)
    /// A spec keyword or a number already formatted (`date`, `0.99`, `-1`): written as is.
    case plain(String)
    case list([StarterValue], flow: Bool)
    /// A mapping whose keys are spec option names.
    case options([(String, StarterValue)], flow: Bool)
    /// A mapping whose keys come from the database (field paths): double-quoted like text.
    case data([(String, StarterValue)], flow: Bool)
    /// A document (a filter, a collation) as relaxed Extended JSON, in flow style.
    case json(JSONValue)

    /// A number as JSON writes it (and YAML reads it back).
    public static func number(_ value: Double) -> StarterValue { .plain(JSONValue.number(value).text(pretty: false)) }

    var node: Node {
        func scalar(_ text: String, _ style: Node.Scalar.Style) -> Node { .scalar(.init(text, .implicit, style)) }
        func mapping(_ pairs: [(String, StarterValue)], keys: Node.Scalar.Style, flow: Bool) -> Node {
            .mapping(.init(pairs.map { (scalar($0.0, keys), $0.1.node) }, .implicit, flow ? .flow : .block))
        }
        switch self {
        case .text(let text): return scalar(text, .doubleQuoted)
        case .plain(let text): return scalar(text, .plain)
        case .list(let items, let flow): return .sequence(.init(items.map(\.node), .implicit, flow ? .flow : .block))
        case .options(let pairs, let flow): return mapping(pairs, keys: .plain, flow: flow)
        case .data(let pairs, let flow): return mapping(pairs, keys: .doubleQuoted, flow: flow)
        case .json(let value):
            switch value {
            case .null: return scalar("null", .plain)
            case .bool(let bool): return scalar(bool ? "true" : "false", .plain)
            case .integer(let integer): return scalar(String(integer), .plain)
            // A double keeps its point (`5.0`), so it reads back as a double: a partial filter compares by type.
            case .number(let number) where number.isFinite: return scalar("\(number)", .plain)
            case .number(let number):
                return StarterValue.data([("$numberDouble", .text(number.isNaN ? "NaN" : number > 0 ? "Infinity" : "-Infinity"))], flow: true).node
            case .string(let text): return scalar(text, .doubleQuoted)
            case .array(let items): return StarterValue.list(items.map(StarterValue.json), flow: true).node
            case .object(let pairs): return StarterValue.data(pairs.map { ($0.0, .json($0.1)) }, flow: true).node
            }
        }
    }
}

/// What a check proposes for a starter spec: the fields of one entry (without `check:`), the comment lines
/// that say why (the evidence, so a person can judge the guess), and whether it is only suggested (it fails
/// on the database today: written commented out).
public struct StarterEntry: Sendable {
    public var comments: [String]
    public var fields: [(String, StarterValue)]
    public var suggested: Bool

    public init(comments: [String] = [], _ fields: [(String, StarterValue)], suggested: Bool = false) {
        self.comments = comments
        self.fields = fields
        self.suggested = suggested
    }
}

/// What a check may read to propose its entries: the database once as a whole (`collection` nil), then each
/// collection holding documents, with its indexes (not `_id`'s) and its top-level fields that a spec can name.
public struct StarterInput {
    public let spec: StarterSpec
    public let database: MongoDatabase
    public let profile: ProfileReport
    public let collection: CollectionProfile?
    public let indexes: [IndexSpec]
    public let fields: [PathProfile]
    /// From a sample: completeness and ranges of `fields` over the whole collection (one server-side $group),
    /// so that the spec still passes on every document.
    public let exact: ExactFigures?

    init(spec: StarterSpec, database: MongoDatabase, profile: ProfileReport, collection: CollectionProfile?) throws {
        self.spec = spec
        self.database = database
        self.profile = profile
        self.collection = collection
        guard let collection else {
            (indexes, fields, exact) = ([], [], nil)
            return
        }
        let handle = database.collection(collection.collection)
        indexes = try handle.listIndexes(maxTimeMS: spec.timeLimit).filter { !$0.isIDIndex }
        // A top-level name with a dot or a leading $ cannot be written as a path; those fields are left out.
        fields = collection.topLevel.filter {
            $0.path != "_id" && !$0.nonNullTypes.isEmpty && !$0.path.contains(".") && !$0.path.hasPrefix("$") && !$0.path.isEmpty
                && Self.survivesLoading($0.path)
        }
        exact = spec.sample == nil ? nil : try Self.exactFigures(handle, fields: fields, maxTimeMS: spec.timeLimit)
    }

    /// The documents the figures of `fields` are out of.
    public var documents: Int { exact?.documents ?? collection?.documents ?? 0 }

    /// Whether one entry of `check` passes on the database (guessed rules are kept only then).
    public func passes(_ check: any Check.Type, _ entry: StarterEntry) throws -> Bool {
        let text = "version: 1\nchecks:\n" + (try StarterSpec.render(StarterEntry(entry.fields), check: check.description.identifier))
        let spec = try AuditSpec(text: text, file: "(init candidate)", registry: self.spec.registry)
        // The trial audit reads as init was told to: its time limit and read preference.
        let report = try Auditor(
            spec: spec, maxTimeMS: self.spec.timeLimit ?? Auditor.defaultMaxTimeMS,
            scanOptions: ScanOptions(readPreference: database.readPreference ?? .secondaryPreferred), tool: "mongo-audit init"
        ).run(on: database.client, database: database.name, failOn: .low)
        return report.outcome == .passed
    }

    /// A path every check reads the same way: dotted names of plain keys, no array elements.
    public static func isPlainPath(_ path: String) -> Bool {
        !path.contains("[]") && !path.hasPrefix("$")
            && !path.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.hasPrefix("$") }
            && survivesLoading(path)
    }

    /// Whether text reads back from a spec as written. Yams decodes each scalar with Foundation, which drops
    /// a leading U+FEFF whatever the quoting: such a name or value cannot be written, so no rule names it.
    public static func survivesLoading(_ text: String) -> Bool { text.unicodeScalars.first != "\u{FEFF}" }

    public struct ExactFigures: Sendable {
        public var documents = 0
        public var complete: [Int: Int] = [:]
        public var numberRanges: [Int: (Double, Double)] = [:]
        public var dateRanges: [Int: (Int64, Int64)] = [:]
    }

    /// Per field, over the whole collection in one $group: documents complete with the sampled types, and
    /// the ranges of numbers and of dates.
    static func exactFigures(_ collection: MongoCollection, fields: [PathProfile], maxTimeMS: Int?) throws -> ExactFigures {
        var group: Document = ["_id": .null, "documents": ["$sum": 1]]
        for (i, field) in fields.enumerated() {
            let value = BSONValue.string("$" + field.path)
            let types = BSONValue.array(field.nonNullTypes.map(BSONValue.string))
            group.append("c\(i)", ["$sum": ["$cond": [["$in": [["$type": value], types]], 1, 0]]])
            let number: BSONValue = ["$cond": [["$isNumber": value], value, .null]]
            let date: BSONValue = ["$cond": [["$eq": [["$type": value], "date"]], value, .null]]
            group.append("nl\(i)", ["$min": number])
            group.append("nh\(i)", ["$max": number])
            group.append("dl\(i)", ["$min": date])
            group.append("dh\(i)", ["$max": date])
        }
        var figures = ExactFigures()
        try collection.aggregate([["$group": .document(group)]], options: AggregateOptions(maxTimeMS: maxTimeMS)) { cursor in
            guard let result = try cursor.next() else { return }
            figures.documents = result["documents"]?.intValue ?? 0
            for i in fields.indices {
                figures.complete[i] = result["c\(i)"]?.intValue ?? 0
                if let low = result["nl\(i)"]?.doubleValue, let high = result["nh\(i)"]?.doubleValue { figures.numberRanges[i] = (low, high) }
                if let low = result["dl\(i)"]?.dateValue, let high = result["dh\(i)"]?.dateValue {
                    figures.dateRanges[i] = (milliseconds(low, .down), milliseconds(high, .up))
                }
            }
        }
        return figures
    }
}

extension Check {
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] { [] }
}

/// One scalar or flow collection as YAML, for the header.
func yamlScalar(_ value: StarterValue) throws -> String {
    try Yams.serialize(node: value.node, width: -1, allowUnicode: true).trimmingCharacters(in: .newlines)
}

/// A date's milliseconds since 1970, rounded as asked and held within int64: a BSON date at the end of the
/// range comes back from a double as 2^63, which must not trap.
private func milliseconds(_ date: Date, _ rule: FloatingPointRoundingRule) -> Int64 {
    let value = (date.timeIntervalSince1970 * 1000).rounded(rule)
    return Int64(exactly: value) ?? (value < 0 ? Int64.min : Int64.max)
}
