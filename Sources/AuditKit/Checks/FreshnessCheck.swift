import Foundation
import MongoKit
import SpecSupport

/// The newest value of a date field must be recent: a collection that stopped receiving documents (a
/// broken ingest, a stopped job) shows it here first. Dates later than now beyond a clock skew are flagged.
public struct FreshnessCheck: Check {
    public static let description = CheckDescription(
        identifier: "freshness",
        name: "Freshness",
        summary: "The newest date on a field (only date values count: strings, numbers and other types at the path "
            + "are ignored) is no older than `max_age` and, with `max_future`, no later than now plus that skew. "
            + "Durations are written 90s, 15m, 6h, 1d or 2w.",
        defaultSeverity: .high,
        needs: "find on the collection (the read role): one query sorted by the field, limit 1; an index on the field "
            + "makes it cheap, without one the server sorts the whole collection within the time limit",
        options: [Options.collection, Options.field, Options.maxAge, Options.maxFuture],
        metrics: [
            .worseUp("ageSeconds", .seconds), .notCompared("maxAgeSeconds", .seconds),
            .worseUp("aheadSeconds", .seconds), .notCompared("maxFutureSeconds", .seconds), .notCompared("documents", .documents),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection whose newest date is checked")
        static let field = TypedOption<String>.path("field", "the date field (the server's sort order picks the newest)", required: true)
        static let maxAge = TypedOption<Double>.duration("max_age", "the newest date may be at most this old", required: true)
        static let maxFuture = TypedOption<Double>.duration(
            "max_future", "a newest date later than now by more than this (clock skew) is a finding (default: not checked)")
    }

    public static let examples = [
        CheckExample(
            "a date an hour ago, allowed a day",
            setup: [["insert": "events", "documents": [["at": .datetime(Date().addingTimeInterval(-3600))], ["at": "not a date"]]]],
            entry: "collection: events\nfield: at\nmax_age: 1d"),
        CheckExample(
            "the newest date is two days old",
            setup: [
                [
                    "insert": "events",
                    "documents": [["at": .datetime(Date().addingTimeInterval(-2 * 86_400))], ["at": .datetime(Date().addingTimeInterval(-5 * 86_400))]],
                ]
            ],
            entry: "collection: events\nfield: at\nmax_age: 1d", expect: [ExpectedFinding("events/stale/at", .high, ["maxAgeSeconds": 86_400])]),
        CheckExample(
            "a date an hour ahead, allowed five minutes of skew",
            setup: [["insert": "events", "documents": [["at": .datetime(Date().addingTimeInterval(3600))]]]],
            entry: "collection: events\nfield: at\nmax_age: 1d\nmax_future: 5m", expect: [ExpectedFinding("events/future/at", .high, ["maxFutureSeconds": 300])]
        ),
        CheckExample(
            "no date on the field",
            setup: [["insert": "events", "documents": [["at": "2024-01-01"], ["at": 1_700_000_000_000]]]],
            entry: "collection: events\nfield: at\nmax_age: 1d", expect: [ExpectedFinding("events/no_dates/at", .high, ["documents": 2])]),
    ]

    let collectionName: String
    let field: String
    let maxAge: Double
    let maxFuture: Double?
    public var collection: String? { collectionName }

    public init(options: SpecFields) throws {
        collectionName = try options.required(Options.collection)
        field = try options.required(Options.field)
        maxAge = try options.required(Options.maxAge)
        maxFuture = try options.value(Options.maxFuture)
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let handle = context.database.collection(collectionName)
        // A descending sort keys an array by its largest element in BSON order, where timestamps, regexes and
        // MaxKey sort above dates, so the first document may not hold the newest date. `$gt` with a date
        // compares dates only: the documents holding a date newer than the first one's are exactly those that
        // can change the answer (usually none, read through the same index).
        let projection = CollectionScan.projection(ofField: field, keepingID: false)
        let path = field.split(separator: ".", omittingEmptySubsequences: false)[...]
        func newestDate(_ filter: Document, sorted: Bool) throws -> Date? {
            var newest: Date?
            try handle.find(
                filter,
                options: FindOptions(
                    projection: projection, sort: sorted ? [field: -1] : nil, limit: sorted ? 1 : nil,
                    maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
            ) { cursor in
                while let document = try cursor.next() {
                    if let found = Self.dates(in: .document(document), path: path).max(), newest.map({ found > $0 }) ?? true { newest = found }
                }
            }
            return newest
        }
        var newest = try newestDate([field: ["$type": "date"]], sorted: true)
        if let first = newest, let later = try newestDate([field: ["$gt": .datetime(first)]], sorted: false) { newest = max(first, later) }
        guard let newest else {
            let documents = try handle.countDocuments(maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
            let title =
                documents == 0
                ? "collection '\(collectionName)' holds no document: no date to check"
                : "none of the \(documents) document(s) of '\(collectionName)' holds a date on '\(field)'"
            return CheckOutput(findings: [
                finding(
                    "no_dates", subject: field, severity: severity, title: title,
                    impact: "Without a date the freshness of the collection is unknown; the field may be misspelled or stored as text.",
                    metrics: ["documents": .count(documents)])
            ])
        }
        // Seconds as doubles: dates at the ends of the int64 range stay finite and never trap.
        let age = context.now.timeIntervalSince(newest)
        var findings: [Finding] = []
        if age > maxAge {
            findings.append(
                finding(
                    "stale", subject: field, severity: severity,
                    title: "the newest '\(field)' is \(Self.duration(age)) old (allowed \(Self.duration(maxAge)))",
                    impact: "No recent document: whatever writes '\(collectionName)' may have stopped.",
                    metrics: ["ageSeconds": .value(age), "maxAgeSeconds": .value(maxAge)], facts: [("newest", timestamp(newest))]))
        }
        if let maxFuture, -age > maxFuture {
            findings.append(
                finding(
                    "future", subject: field, severity: severity,
                    title: "the newest '\(field)' is \(Self.duration(-age)) ahead of now (allowed \(Self.duration(maxFuture)))",
                    impact: "A date that far ahead is a clock, timezone or unit error upstream, and it hides whether new documents arrive.",
                    metrics: ["aheadSeconds": .value(-age), "maxFutureSeconds": .value(maxFuture)], facts: [("newest", timestamp(newest))]))
        }
        return CheckOutput(findings: findings, metrics: ["ageSeconds": .value(age)])
    }

    /// The dates a path reaches in a value, as query matching reads it: through sub-documents and arrays
    /// (a numeric component is also an array position), an array at the end standing for its elements.
    static func dates(in value: BSONValue, path: ArraySlice<Substring>) -> [Date] {
        guard let component = path.first else {
            if case .array(let elements) = value { return elements.compactMap(\.dateValue) }
            return value.dateValue.map { [$0] } ?? []
        }
        switch value {
        case .document(let document):
            return document[String(component)].map { dates(in: $0, path: path.dropFirst()) } ?? []
        case .array(let elements):
            var found = elements.flatMap { element -> [Date] in
                if case .document = element { return dates(in: element, path: path) }
                return []
            }
            if let position = Int(component), elements.indices.contains(position) { found += dates(in: elements[position], path: path.dropFirst()) }
            return found
        default:
            return []
        }
    }

    /// `2d 4h`, `15m`, `90s`: the two largest units, for titles.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e15 else { return String(format: "%.3g s", seconds) }
        let units: [(String, Double)] = [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = seconds.rounded(.down)
        var parts: [String] = []
        for (name, size) in units where rest >= size && parts.count < 2 {
            let count = (rest / size).rounded(.down)
            parts.append("\(Int(count))\(name)")
            rest -= count * size
        }
        return parts.isEmpty ? String(format: "%.3gs", seconds) : parts.joined(separator: " ")
    }
}

extension TypedOption where Value == Double {
    /// A duration in seconds, written as a whole number and a unit: `90s`, `15m`, `6h`, `1d`, `2w` (at most 100 years).
    static func duration(_ name: String, _ summary: String, required: Bool = false) -> Self {
        Self(name, type: "duration", summary, required: required) { node in
            let text = try node.string()
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
            guard let unit = text.last.flatMap({ units[$0] }), text.count <= 12, let count = Int(text.dropLast()), count > 0,
                Double(count) * unit <= 36_500 * 86_400
            else {
                throw node.error("expected a positive duration such as 90s, 15m, 6h, 1d or 2w (at most 100 years), got \"\(text)\"")
            }
            return Double(count) * unit
        }
    }
}
