import Foundation
import MongoKit

/// One audit's figures, flattened to named numbers, as `--history` stores them (one JSON line per audit, or
/// one document). Keys:
///
/// - `audit:durationSeconds`
/// - a check's own figures: `check/collection:metric` (`-` when the check is about no collection)
/// - a finding's figures: `findingId:metric` (`field_completeness/recordings/completeness:dtype`)
///
/// A proportion gives two keys: its count under the metric's name and its share under `name.share`.
package struct HistoryRecord: Sendable, Equatable {
    package static let schemaName = "mongo-audit/history"
    package static let schemaVersion = 1

    package var startedAt: Date
    package var database: String
    package var specFile: String
    package var specSHA256: String
    package var tool: String
    package var serverVersion: String
    package var durationSeconds: Double
    package var exact: Bool
    package var outcome: String
    package var metrics: [(key: String, value: Double)] {
        didSet { index = Self.index(metrics) }
    }
    /// The metrics by key, for lookups (regressions and charts read many keys of many records).
    private var index: [String: Double]

    private static func index(_ metrics: [(key: String, value: Double)]) -> [String: Double] {
        Dictionary(metrics.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    package init(
        startedAt: Date, database: String, specFile: String, specSHA256: String, tool: String, serverVersion: String,
        durationSeconds: Double, exact: Bool, outcome: String, metrics: [(key: String, value: Double)]
    ) {
        self.startedAt = startedAt
        self.database = database
        self.specFile = specFile
        self.specSHA256 = specSHA256
        self.tool = tool
        self.serverVersion = serverVersion
        self.durationSeconds = durationSeconds
        self.exact = exact
        self.outcome = outcome
        self.metrics = metrics
        index = Self.index(metrics)
    }

    package init(report: AuditReport) {
        var metrics: [(key: String, value: Double)] = [("audit:durationSeconds", report.durationSeconds)]
        var seen: Set<String> = ["audit:durationSeconds"]
        func add(_ prefix: String, _ entries: Metrics) {
            for (name, metric) in entries.entries {
                let key = "\(prefix):\(name)"
                guard seen.insert(key).inserted else { continue }
                metrics.append((key, metric.number))
                if case .proportion(let p) = metric, seen.insert("\(key).share").inserted { metrics.append(("\(key).share", p.share)) }
            }
        }
        for result in report.checks where result.status != .notRun {
            add("\(result.check)/\(result.collection ?? "-")", result.metrics)
            for finding in result.findings { add(finding.id, finding.metrics) }
        }
        self.init(
            startedAt: report.startedAt, database: report.database, specFile: report.specFile, specSHA256: report.specSHA256,
            tool: report.tool, serverVersion: report.serverVersion, durationSeconds: report.durationSeconds, exact: report.exact,
            outcome: report.outcome.rawValue, metrics: metrics)
    }

    package func value(_ key: String) -> Double? { index[key] }

    package static func == (lhs: HistoryRecord, rhs: HistoryRecord) -> Bool { lhs.json == rhs.json }

    package var json: JSONValue {
        .object([
            ("schema", .string(Self.schemaName)), ("schemaVersion", .integer(Int64(Self.schemaVersion))),
            ("startedAt", .string(timestamp(startedAt))), ("database", .string(database)), ("specFile", .string(specFile)),
            ("specSHA256", .string(specSHA256)), ("tool", .string(tool)), ("serverVersion", .string(serverVersion)),
            ("durationSeconds", .number(durationSeconds)), ("exact", .bool(exact)), ("outcome", .string(outcome)),
            ("metrics", .object(metrics.map { ($0.key, number($0.value)) })),
        ])
    }

    /// One line of JSON Lines, newline included.
    package var line: String { json.text(pretty: false) + "\n" }

    /// A record as a MongoDB document (metric keys hold dots and slashes, so metrics are a list of {k, v}).
    package var document: Document {
        [
            "schema": .string(Self.schemaName), "schemaVersion": .int32(Int32(Self.schemaVersion)), "startedAt": .datetime(startedAt),
            "database": .string(database), "specFile": .string(specFile), "specSHA256": .string(specSHA256), "tool": .string(tool),
            "serverVersion": .string(serverVersion), "durationSeconds": .double(durationSeconds), "exact": .bool(exact),
            "outcome": .string(outcome),
            "metrics": .array(metrics.map { .document(["k": .string($0.key), "v": .double($0.value)]) }),
        ]
    }

    package init(document: Document) throws {
        func text(_ key: String) throws -> String {
            guard let value = document[key]?.stringValue else { throw GateFileError(file: "history collection", "a record lacks \(key)") }
            return value
        }
        guard case .datetime(let started)? = document["startedAt"] else { throw GateFileError(file: "history collection", "a record lacks startedAt") }
        var metrics: [(key: String, value: Double)] = []
        if case .array(let items)? = document["metrics"] {
            for case .document(let item) in items {
                guard let key = item["k"]?.stringValue, let value = item["v"]?.doubleValue else { continue }
                metrics.append((key, value))
            }
        }
        self.init(
            startedAt: started, database: try text("database"), specFile: (try? text("specFile")) ?? "", specSHA256: (try? text("specSHA256")) ?? "",
            tool: (try? text("tool")) ?? "", serverVersion: (try? text("serverVersion")) ?? "",
            durationSeconds: document["durationSeconds"]?.doubleValue ?? 0, exact: document["exact"]?.boolValue ?? true,
            outcome: (try? text("outcome")) ?? "", metrics: metrics)
    }

    /// Reads one JSON line.
    package static func decode(line: String, file: String) throws -> HistoryRecord {
        try decode(line: line, file: file, dates: TimestampParser())
    }

    static func decode(line: String, file: String, dates: TimestampParser) throws -> HistoryRecord {
        let r = ReportDecoder.Reader(file: file)
        guard let data = line.data(using: .utf8), let root = try? JSONSerialization.jsonObject(with: data) else {
            throw GateFileError(file: file, "a line is not JSON")
        }
        let object = try r.object(root, "")
        guard object["schema"] as? String == schemaName else { throw GateFileError(file: file, "a line is not a mongo-audit history record") }
        let metricsObject = try r.object(object["metrics"], "metrics")
        // JSONSerialization loses the order; keys are sorted, which is as good for every reader here.
        let metrics = metricsObject.keys.sorted().compactMap { key in (metricsObject[key] as? NSNumber).map { (key: key, value: $0.doubleValue) } }
        return HistoryRecord(
            startedAt: dates.parse(try r.string(object, "startedAt")) ?? Date(timeIntervalSince1970: 0), database: try r.string(object, "database"),
            specFile: object["specFile"] as? String ?? "", specSHA256: object["specSHA256"] as? String ?? "", tool: object["tool"] as? String ?? "",
            serverVersion: object["serverVersion"] as? String ?? "", durationSeconds: (object["durationSeconds"] as? NSNumber)?.doubleValue ?? 0,
            exact: object["exact"] as? Bool ?? true, outcome: object["outcome"] as? String ?? "", metrics: metrics)
    }

    /// Reads a JSON Lines history. A line that is not a record (a torn write from a crashed writer of another
    /// tool, a blank line) is skipped and counted, never fatal. With `database`, only its records; with
    /// `last`, only the newest that many, read from the end (lines of other databases are passed over
    /// without being parsed), so the cost of a long history stays that of its tail.
    package static func decode(lines text: String, file: String, database: String? = nil, last: Int? = nil) -> (records: [HistoryRecord], skipped: Int) {
        decode(lines: Array(text.utf8), file: file, database: database, last: last)
    }

    /// The same over bytes: lines are found by their newline bytes (no character-by-character walk), and
    /// a line of another database is recognised from its first bytes, where this tool writes `database`.
    package static func decode(lines bytes: [UInt8], file: String, database: String? = nil, last: Int? = nil) -> (records: [HistoryRecord], skipped: Int) {
        var records: [HistoryRecord] = []
        var skipped = 0
        let dates = TimestampParser()
        let marker = database.map { Array(("\"database\":" + JSONValue.string($0).text(pretty: false)).utf8) }
        let anyDatabase = Array("\"database\":".utf8)
        var end = bytes.count
        while end > 0 {
            if let last, records.count >= last { break }
            var start = end - 1
            while start > 0 && bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
            defer { end = start > 0 ? start - 1 : 0 }
            let line = bytes[start..<end]
            if line.allSatisfy({ $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) { continue }
            if let marker {
                let head = line.prefix(1024)
                if !contains(head, marker) {
                    // Another database's record (its field is near the start), or not a record at all.
                    if !contains(head, anyDatabase) { skipped += 1 }
                    continue
                }
            }
            if let record = try? decode(line: String(decoding: line, as: UTF8.self), file: file, dates: dates), database == nil || record.database == database {
                records.append(record)
            } else {
                skipped += 1
            }
        }
        return (records.reversed(), skipped)
    }

    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
        var index = haystack.startIndex
        let lastStart = haystack.endIndex - needle.count
        while index <= lastStart {
            if haystack[index] == first && haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

/// A MongoDB collection holding history records, one document per audit, in a database that is not the
/// audited one. Each audit is one insert, so a run that fails records nothing and writers do not interfere.
package struct MongoHistoryStore: Sendable {
    package let collection: MongoCollection

    package init(collection: MongoCollection) { self.collection = collection }

    package func append(_ record: HistoryRecord) throws { try collection.insertOne(record.document) }

    /// The records of `database` (all when nil), oldest first; the newest `last` of them when given.
    package func records(database: String?, last: Int? = nil) throws -> [HistoryRecord] {
        let filter: Document = database.map { ["database": .string($0)] } ?? Document()
        return try collection.find(filter, options: FindOptions(sort: ["startedAt": .int32(-1)], limit: last)) { cursor in
            var records: [HistoryRecord] = []
            while let document = try cursor.next() { records.append(try HistoryRecord(document: document)) }
            return records.reversed()
        }
    }
}

/// Where `--history` keeps records: a JSON Lines file, or a MongoDB collection named by a connection string
/// (`mongodb://host/db.collection`; the collection defaults to `mongo_audit_history`).
package enum HistoryTarget: Sendable, Equatable {
    case file(String)
    case mongo(uri: String, database: String, collection: String)

    package static let defaultCollection = "mongo_audit_history"

    package init(_ text: String) throws {
        guard text.hasPrefix("mongodb://") || text.hasPrefix("mongodb+srv://") else {
            self = .file(text)
            return
        }
        let parsed: (uri: MongoURI, collection: String?)
        do {
            parsed = try MongoURI.namespace(text)
        } catch let error as MongoError {
            throw GateFileError(file: "--history", "\(error)")
        }
        guard let database = parsed.uri.database else {
            throw GateFileError(file: "--history", "a MongoDB history needs a database in the connection string: mongodb://host/database[.collection]")
        }
        let collection = parsed.collection ?? Self.defaultCollection
        // The server's own collections (users, roles, the oplog, sharding metadata) are never a history.
        guard !collection.hasPrefix("system."), !["local", "config"].contains(database) else {
            throw GateFileError(
                file: "--history", "\(parsed.uri.redacted) names a collection of the server's own; give a database and collection of your own")
        }
        self = .mongo(uri: parsed.uri.text, database: database, collection: collection)
    }
}

extension HistoryRecord {
    /// Keys matching a selector: `*` stands for any run of characters (slashes included), `?` for one.
    package func keys(matching selector: String) -> [String] { metrics.map(\.key).filter { glob(selector, matches: $0) } }
}

/// Shell-style matching with `*` and `?` over the whole text.
package func glob(_ pattern: String, matches text: String) -> Bool {
    let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
            pi += 1
            ti += 1
        } else if pi < p.count && p[pi] == "*" {
            star = pi
            mark = ti
            pi += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ti = mark
        } else {
            return false
        }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
}

/// Parses the reports' timestamps with one pair of formatters (making one is the expensive part).
final class TimestampParser {
    private let fractional = ISO8601DateFormatter()
    private let whole = ISO8601DateFormatter()

    init() {
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        whole.formatOptions = [.withInternetDateTime]
    }

    func parse(_ text: String) -> Date? { fractional.date(from: text) ?? whole.date(from: text) }
}
