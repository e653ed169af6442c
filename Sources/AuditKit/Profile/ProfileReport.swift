import Foundation
import MongoKit
import TextEscaping

/// The figures of one path. Paths at or under array elements (`underArray`) count values: `values` and
/// the type counts count every element, `present` the documents holding at least one value there and
/// `missing` the documents holding none. Elsewhere one document holds at most one value at a path, so
/// `values == present`. `null` counts null values; `missing` never includes them.
public struct PathProfile: Sendable {
    public let path: String
    public let depth: Int
    public let underArray: Bool
    /// Values per BSON type alias, most frequent first.
    public let types: [(String, Int)]
    public let values: Int
    public let present: Int
    public let null: Int
    public let missing: Int
    public let numberMin: Double?
    public let numberMax: Double?
    public let dateMinMilliseconds: Int64?
    public let dateMaxMilliseconds: Int64?
    public let dateMin: String?
    public let dateMax: String?
    /// In Unicode code points.
    public let stringLengthMin: Int?
    public let stringLengthMax: Int?
    public let arrayLengthMin: Int?
    public let arrayLengthMax: Int?
    /// HyperLogLog estimate of the distinct non-null values (standard error `HyperLogLog.standardError`).
    public let distinctEstimate: Int
    /// The exact number of distinct values when they are few (strings, numbers and booleans only).
    public let distinctExact: Int?
    /// The most frequent values and their counts, when the path has few distinct values.
    public let topValues: [(JSONValue, Int)]?

    public func count(of alias: String) -> Int { types.first { $0.0 == alias }?.1 ?? 0 }
    public var nonNullTypes: [String] { types.map(\.0).filter { $0 != "null" } }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("path", .string(path)), ("underArray", .bool(underArray)),
            ("types", .object(types.map { ($0.0, .integer(Int64($0.1))) })),
            ("values", .integer(Int64(values))), ("present", .integer(Int64(present))), ("null", .integer(Int64(null))),
            ("missing", .integer(Int64(missing))),
        ]
        if let numberMin, let numberMax { fields += [("numberMin", .number(numberMin)), ("numberMax", .number(numberMax))] }
        if let dateMin, let dateMax { fields += [("dateMin", .string(dateMin)), ("dateMax", .string(dateMax))] }
        if let stringLengthMin, let stringLengthMax {
            fields += [("stringLengthMin", .integer(Int64(stringLengthMin))), ("stringLengthMax", .integer(Int64(stringLengthMax)))]
        }
        if let arrayLengthMin, let arrayLengthMax {
            fields += [("arrayLengthMin", .integer(Int64(arrayLengthMin))), ("arrayLengthMax", .integer(Int64(arrayLengthMax)))]
        }
        fields.append(
            (
                "distinct",
                .object(
                    [
                        ("estimate", .integer(Int64(distinctEstimate))), ("standardError", .number(HyperLogLog.standardError)),
                    ] + (distinctExact.map { [("exact", JSONValue.integer(Int64($0)))] } ?? []))
            ))
        if let topValues {
            fields.append(("topValues", .array(topValues.map { .object([("value", $0.0), ("count", .integer(Int64($0.1)))]) })))
        }
        return .object(fields)
    }
}

public struct CollectionProfile: Sendable {
    public let collection: String
    /// Documents read (all of them, or the sample).
    public let documents: Int
    public let malformedDocuments: Int
    public let paths: [PathProfile]
    /// Distinct paths seen after `maxPaths` were tracked (their descendants are not counted).
    public let droppedPaths: Int
    public let droppedPathsAtLeast: Bool
    public let maxPaths: Int
    public var sampled: Int? = nil
    public var durationSeconds: Double = 0

    public func path(_ name: String) -> PathProfile? { paths.first { $0.path == name } }
    public var topLevel: [PathProfile] { paths.filter { $0.depth == 0 } }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("collection", .string(collection)), ("documents", .integer(Int64(documents))),
        ]
        if let sampled { fields.append(("sample", .integer(Int64(sampled)))) }
        fields += [
            ("durationSeconds", .number(durationSeconds)),
            ("malformedDocuments", .integer(Int64(malformedDocuments))),
            ("maxPaths", .integer(Int64(maxPaths))), ("droppedPaths", .integer(Int64(droppedPaths))),
            ("paths", .array(paths.map(\.json))),
        ]
        return .object(fields)
    }
}

/// What `mongo-audit profile` reports: per collection, every path with its types and figures.
public struct ProfileReport: Sendable {
    public static let schemaName = "mongo-audit/profile"
    public static let schemaVersion = 1

    public let database: String
    public let serverVersion: String
    public let collections: [CollectionProfile]
    public let durationSeconds: Double

    public func collection(_ name: String) -> CollectionProfile? { collections.first { $0.collection == name } }

    public var json: JSONValue {
        .object([
            ("schema", .string(Self.schemaName)), ("schemaVersion", .integer(Int64(Self.schemaVersion))),
            ("database", .string(database)), ("serverVersion", .string(serverVersion)),
            ("durationSeconds", .number(durationSeconds)),
            ("distinctStandardError", .number(HyperLogLog.standardError)),
            ("collections", .array(collections.map(\.json))),
        ])
    }

    /// A table per collection: one line per path, indented by depth.
    public var text: String {
        var out =
            "database \"\(Escape.terminal(database))\" on MongoDB \(Escape.terminal(serverVersion)), "
            + String(format: "%.2f s", durationSeconds) + "\n"
        for collection in collections {
            out += "\n\(Escape.terminal(collection.collection)): \(collection.documents) document(s)"
            if let sampled = collection.sampled { out += " (random sample of \(sampled))" }
            out += ", \(collection.paths.count) path(s)"
            if collection.droppedPaths > 0 {
                out += ", \(collection.droppedPathsAtLeast ? "at least " : "")\(collection.droppedPaths) more not tracked (limit \(collection.maxPaths))"
            }
            out += "\n"
            for path in collection.paths {
                let share = collection.documents == 0 ? 0 : Double(path.present) / Double(collection.documents) * 100
                var line = "  " + String(repeating: "  ", count: path.depth) + Escape.terminal(path.path)
                line += "  " + path.types.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
                line += String(format: "  present %.1f%%", share)
                if path.null > 0 { line += ", null \(path.null)" }
                if path.missing > 0 { line += ", missing \(path.missing)" }
                if let a = path.numberMin, let b = path.numberMax { line += "  range \(format(a))..\(format(b))" }
                if let a = path.dateMin, let b = path.dateMax { line += "  dates \(a)..\(b)" }
                if let a = path.stringLengthMin, let b = path.stringLengthMax { line += "  length \(a)..\(b)" }
                if let a = path.arrayLengthMin, let b = path.arrayLengthMax { line += "  items \(a)..\(b)" }
                if path.values > path.null {
                    line += path.distinctExact.map { "  distinct \($0)" } ?? "  distinct ~\(path.distinctEstimate)"
                }
                if let top = path.topValues, !top.isEmpty, (path.distinctExact ?? 0) <= 10 {
                    line += "  top: " + top.prefix(5).map { "\(Escape.terminal($0.0.text(pretty: false))) \($0.1)" }.joined(separator: ", ")
                }
                out += line + "\n"
            }
        }
        out += String(format: "\ndistinct counts marked ~ are HyperLogLog estimates (standard error %.1f%%)\n", HyperLogLog.standardError * 100)
        return out
    }

    private func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Profiles the collections of a database, one pass each.
package struct DatabaseProfiler: Sendable {
    package var collections: [String]?
    package var sample: Int?
    package var maxPaths: Int
    /// The time limit of each read; 0 leaves it to the client's default (`ClientOptions.defaultMaxTimeMS`).
    package var maxTimeMS: Int

    package init(collections: [String]? = nil, sample: Int? = nil, maxPaths: Int = 2_000, maxTimeMS: Int = 0) {
        self.collections = collections
        self.sample = sample
        self.maxPaths = maxPaths
        self.maxTimeMS = maxTimeMS
    }

    /// The names of the database's collections (not views or system collections), sorted.
    package static func collectionNames(in database: MongoDatabase) throws -> [String] {
        try database.listCollections().filter { $0.kind == .collection && !$0.name.hasPrefix("system.") }.map(\.name).sorted()
    }

    package func run(on database: MongoDatabase) throws -> ProfileReport {
        let started = Date()
        let names = try collections ?? Self.collectionNames(in: database)
        let buildInfo = try database.client.database("admin").runCommand(["buildInfo": 1])
        var profiles: [CollectionProfile] = []
        for name in names {
            profiles.append(try profile(database.collection(name)))
        }
        return ProfileReport(
            database: database.name, serverVersion: buildInfo["version"]?.stringValue ?? "unknown", collections: profiles,
            durationSeconds: Date().timeIntervalSince(started))
    }

    /// Documents per reply: about a megabyte, as the audit's scan reads, and fewer when documents are large,
    /// so that wide documents do not fill 16 MB replies (which the client then holds, with their copies).
    static func batchSize(averageDocumentBytes: Int?) -> Int {
        guard let bytes = averageDocumentBytes, bytes > 0 else { return CollectionScan.batchSize }
        return max(16, min(CollectionScan.batchSize, (1 << 20) / bytes))
    }

    /// The collection's average document size from its storage statistics (nil when the server gives none).
    private func averageDocumentBytes(_ collection: MongoCollection) throws -> Int? {
        try collection.aggregate([["$collStats": ["storageStats": [:]]]], options: AggregateOptions(maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)) { cursor in
            try cursor.next()?["storageStats"]?.documentValue?["avgObjSize"]?.intValue
        }
    }

    package func profile(_ collection: MongoCollection) throws -> CollectionProfile {
        let started = Date()
        let profiler = CollectionProfiler(collection: collection.name, maxPaths: maxPaths)
        let visit: (MongoCursor) throws -> Void = { cursor in
            try cursor.forEachViewPrefetched { view in
                view.withUnsafeBytes { profiler.add(bytes: $0) }
                return true
            }
        }
        // Batches as the audit's scan reads them: about a megabyte each, streamed (exhaust) on a full pass.
        let batchSize = Self.batchSize(averageDocumentBytes: try? averageDocumentBytes(collection))
        if let sample {
            try collection.aggregate(
                [["$sample": ["size": .int64(Int64(sample))]]],
                options: AggregateOptions(allowDiskUse: true, batchSize: batchSize, maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil), visit)
        } else {
            try collection.find(options: FindOptions(batchSize: batchSize, maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil, exhaust: true), visit)
        }
        var result = profiler.profile
        result.sampled = sample
        result.durationSeconds = Date().timeIntervalSince(started)
        return result
    }
}
