import Foundation
import MongoKit

/// Writes a commented starter spec (YAML) from a database's profile and indexes. Every rule is derived so
/// that the spec passes on the database it came from (when profiled in full): completeness a little under
/// what is seen, ranges and sets exactly what is seen. The guessed rules (`unique_values` without a unique
/// index, `references` from names) are kept only when the check itself passes on the database.
public struct StarterSpec: Sendable {
    public var sample: Int?
    public var maxTimeMS: Int
    /// Low-cardinality strings with at most this many distinct values get an `in` rule.
    public var maxInValues = 10
    /// Values checked per candidate reference before the whole reference check is run.
    public var referenceSampleSize = 20

    public init(sample: Int? = nil, maxTimeMS: Int = 0) {
        self.sample = sample
        self.maxTimeMS = maxTimeMS
    }

    public struct Result: Sendable {
        public let text: String
        public let profile: ProfileReport
    }

    public func generate(from database: MongoDatabase, now: Date = Date()) throws -> Result {
        let profile = try DatabaseProfiler(sample: sample, maxTimeMS: maxTimeMS).run(on: database)
        let names = profile.collections.map(\.collection)
        var out = """
            # Starter spec written by `mongo-audit init` from database "\(yamlComment(database.name))" (MongoDB \(profile.serverVersion))
            # on \(ISO8601DateFormatter().string(from: now)), from \(sample.map { "a random sample of \($0) documents per collection" } ?? "every document").
            # Every rule states what the database looks like today: completeness just under what was seen,
            # (from a sample: completeness and ranges counted on the server over every document),
            # value sets and ranges exactly as seen. Review it, tighten what matters, delete what does not.

            version: 1
            database: \(yamlString(database.name))

            checks:
              - check: required_collections
                collections: [\(names.map(yamlString).joined(separator: ", "))]

            """
        for collection in profile.collections {
            out += try section(for: collection, in: database, all: profile.collections)
        }
        return Result(text: out, profile: profile)
    }

    private func section(for collection: CollectionProfile, in database: MongoDatabase, all: [CollectionProfile]) throws -> String {
        let name = collection.collection
        let handle = database.collection(name)
        let indexes = try handle.listIndexes(maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil).filter { !$0.isIDIndex }
        var out = "\n  # ---- \(yamlComment(name)): \(collection.documents) document(s)\(collection.sampled != nil ? " in the sample" : ""), \(collection.paths.count) path(s)\n"
        guard collection.documents > 0 else { return out + "  # (empty: no field rules)\n" }

        // Indexes, with their options.
        if !indexes.isEmpty {
            out += "  - check: critical_indexes\n    collection: \(yamlString(name))\n    indexes:\n"
            for index in indexes {
                out += "      - keys: {\(index.keys.map { "\(yamlString($0.field)): \(keyValue($0.kind))" }.joined(separator: ", "))}"
                out += "   # \(yamlComment(index.name))\n"
                if index.unique { out += "        unique: true\n" }
                if index.sparse { out += "        sparse: true\n" }
                if let seconds = index.expireAfterSeconds { out += "        expire_after_seconds: \(seconds)\n" }
                if let filter = index.partialFilterExpression { out += "        partial_filter: \(filter.relaxedJSON)\n" }
                if let collation = index.collation { out += "        collation: \(collation.relaxedJSON)\n" }
            }
        }

        // Completeness of top-level fields.
        // A top-level name with a dot or a leading $ cannot be written as a path; those fields are left out.
        let fields = collection.topLevel.filter {
            $0.path != "_id" && !$0.nonNullTypes.isEmpty && !$0.path.contains(".") && !$0.path.hasPrefix("$") && !$0.path.isEmpty
        }
        // From a sample, completeness and ranges are taken from the whole collection (one server-side $group),
        // so that the spec still passes on every document.
        let exact = sample == nil ? nil : try exactFigures(handle, fields: fields)
        let total = exact?.documents ?? collection.documents
        if !fields.isEmpty {
            out += "  - check: field_completeness\n    collection: \(yamlString(name))\n    fields:\n"
            for (i, field) in fields.enumerated() {
                let complete = exact?.complete[i] ?? (field.present - field.null)
                let share = total == 0 ? 0 : Double(complete) / Double(total)
                let minimum = max(0, (share * 100).rounded(.down) / 100 - 0.01)
                out += "      \(yamlString(field.path)): {types: [\(field.nonNullTypes.joined(separator: ", "))], min_complete: \(String(format: "%.2f", minimum))}"
                out += String(format: "   # complete in %.2f%% (%d of %d)", share * 100, complete, total) + "\n"
            }
            out += "    undeclared_top: 10\n"
        }

        // Value rules: sets of few strings, ranges of numbers and dates.
        var rules: [String] = []
        for (i, field) in fields.enumerated() {
            let types = Set(field.nonNullTypes)
            var numberRange = field.numberMin.flatMap { low in field.numberMax.map { (low, $0) } }
            var dateRange = field.dateMinMilliseconds.flatMap { low in field.dateMaxMilliseconds.map { (low, $0) } }
            if let exact {
                numberRange = exact.numberRanges[i]
                dateRange = exact.dateRanges[i]
            }
            if types == ["string"], let top = field.topValues, let exactCount = field.distinctExact, exactCount <= maxInValues,
                top.count == exactCount
            {
                let values = top.compactMap { value -> String? in
                    if case .string(let s) = value.0 { return s }
                    return nil
                }.sorted()
                if sample != nil {
                    // A value the sample missed would break the rule: count them on the server.
                    let others = try handle.countDocuments(
                        [field.path: ["$type": "string", "$nin": .array(values.map(BSONValue.string))]], maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)
                    if others > 0 { continue }
                }
                let exact = exactCount
                rules.append("      - field: \(yamlString(field.path))   # \(exact) distinct value(s) seen\n        in: [\(values.map(yamlString).joined(separator: ", "))]\n")
            } else if !types.isEmpty, types.isSubset(of: ["int", "long", "double"]), let (low, high) = numberRange,
                low.isFinite, high.isFinite
            {
                // Ranges are kept as doubles; beyond 2^53 an integer may have been rounded towards the
                // middle, so the bound moves out by one step to keep every value seen inside it.
                let exactLimit = 9_007_199_254_740_992.0
                let min = abs(low) >= exactLimit ? low.nextDown : low, max = abs(high) >= exactLimit ? high.nextUp : high
                rules.append("      - field: \(yamlString(field.path))   # range seen\n        min: \(number(min))\n        max: \(number(max))\n")
            } else if types == ["date"], let (low, high) = dateRange {
                // Whole seconds, widened outwards, so that no rounding can exclude the extremes.
                let formatter = ISO8601DateFormatter()
                let lowDate = Date(timeIntervalSince1970: (Double(low) / 1000).rounded(.down))
                let highDate = Date(timeIntervalSince1970: (Double(high) / 1000).rounded(.up))
                rules.append(
                    "      - field: \(yamlString(field.path))   # range seen (to the second)\n        min: \(yamlString(formatter.string(from: lowDate)))\n        max: \(yamlString(formatter.string(from: highDate)))\n")
            }
        }
        if !rules.isEmpty {
            out += "  - check: value_rules\n    collection: \(yamlString(name))\n    rules:\n" + rules.joined()
        }

        // Unique values: from unique single-field indexes, or values that look unique and prove so.
        var uniqueFields: [(String, String)] = []
        /// Guessed rules the database breaks today: written commented out, with why.
        var failing: [(String, String)] = []
        for index in indexes where index.unique && index.keys.count == 1 && index.partialFilterExpression == nil {
            uniqueFields.append((index.keys[0].field, "unique index \(index.name)"))
        }
        for field in collection.paths where !field.underArray && field.path != "_id" && isPlainPath(field.path) && !uniqueFields.contains(where: { $0.0 == field.path }) {
            let nonNull = field.present - field.null
            guard nonNull >= 2, Set(field.nonNullTypes).isSubset(of: ["string", "objectId"]), !field.nonNullTypes.isEmpty,
                Double(field.distinctEstimate) >= Double(nonNull) * (1 - 2 * HyperLogLog.standardError)
            else { continue }
            let entry = "check: unique_values\ncollection: \(yamlString(name))\nfield: \(yamlString(field.path))"
            if try passes(entry, on: database) {
                uniqueFields.append((field.path, "no index: about \(field.distinctEstimate) distinct of \(nonNull) values, no duplicate found"))
            } else {
                failing.append(("about \(field.distinctEstimate) distinct of \(nonNull) values, but some repeat", entry))
            }
        }
        for (field, reason) in uniqueFields {
            out += "  - check: unique_values   # \(yamlComment(reason))\n    collection: \(yamlString(name))\n    field: \(yamlString(field))\n"
        }

        // References: a field named after another collection plus one of its fields, whose values are found there.
        for field in collection.topLevel where field.path != "_id" && isPlainPath(field.path) {
            for target in all where target.collection != name {
                guard let toField = referencedField(field.path, target: target) else { continue }
                guard try overlaps(handle, field: field.path, target: database.collection(target.collection), toField: toField) else { continue }
                let entry = "check: references\ncollection: \(yamlString(name))\nfield: \(yamlString(field.path))\nto_collection: \(yamlString(target.collection))\nto_field: \(yamlString(toField))"
                guard try passes(entry, on: database) else {
                    failing.append(("named after \(target.collection).\(toField) and values are found there, but not all of them", entry))
                    continue
                }
                out += "  - check: references   # from the names, and every value is found\n"
                out += "    collection: \(yamlString(name))\n    field: \(yamlString(field.path))\n    to_collection: \(yamlString(target.collection))\n    to_field: \(yamlString(toField))\n"
            }
        }

        for (reason, entry) in failing {
            out += "  # Suggested, but fails on this database today (\(yamlComment(reason))): fix the data, then uncomment.\n"
            for (i, line) in entry.split(separator: "\n").enumerated() { out += i == 0 ? "  # - \(line)\n" : "  #   \(line)\n" }
        }

        // Query plans: one equality query per indexed single field, on a value that exists.
        var queries: [String] = []
        for index in indexes
        where index.keys.count == 1 && ["1", "-1"].contains(index.keys[0].kind) && index.partialFilterExpression == nil
            && index.collation == nil && !index.hidden && index.keys[0].field != "_id"  // every collection's own
        {
            let field = index.keys[0].field
            guard let value = try existingValue(handle, field: field) else { continue }
            let filter: Document = [field: value]
            queries.append("      - name: \(yamlString("by \(field)"))\n        filter: \(filter.relaxedJSON)\n")
        }
        if !queries.isEmpty {
            out += "  - check: query_plans\n    collection: \(yamlString(name))\n    target_ms: 1000\n    limit_ms: 2000   # generous: the plan is the point\n    queries:\n" + queries.joined()
        }
        return out
    }

    struct ExactFigures {
        var documents = 0
        var complete: [Int: Int] = [:]
        var numberRanges: [Int: (Double, Double)] = [:]
        var dateRanges: [Int: (Int64, Int64)] = [:]
    }

    /// Per field, over the whole collection in one $group: documents complete with the sampled types, and
    /// the ranges of numbers and of dates.
    private func exactFigures(_ collection: MongoCollection, fields: [PathProfile]) throws -> ExactFigures {
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
        try collection.aggregate([["$group": .document(group)]], options: AggregateOptions(maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)) { cursor in
            guard let result = try cursor.next() else { return }
            figures.documents = result["documents"]?.intValue ?? 0
            for i in fields.indices {
                figures.complete[i] = result["c\(i)"]?.intValue ?? 0
                if let low = result["nl\(i)"]?.doubleValue, let high = result["nh\(i)"]?.doubleValue { figures.numberRanges[i] = (low, high) }
                if let low = result["dl\(i)"]?.dateValue, let high = result["dh\(i)"]?.dateValue {
                    figures.dateRanges[i] = (Int64((low.timeIntervalSince1970 * 1000).rounded(.down)), Int64((high.timeIntervalSince1970 * 1000).rounded(.up)))
                }
            }
        }
        return figures
    }

    /// `recording_uuid` / `recordingUuid` → `uuid` when the target is `recording` or `recordings` and has `uuid`;
    /// `recording_id` → `_id`.
    func referencedField(_ field: String, target: CollectionProfile) -> String? {
        let lower = field.lowercased()
        let name = target.collection.lowercased()
        let stems = [name, name.hasSuffix("s") ? String(name.dropLast()) : name]
        for stem in stems where lower.hasPrefix(stem) && lower.count > stem.count {
            var rest = String(field.dropFirst(stem.count))
            if rest.hasPrefix("_") { rest.removeFirst() }
            guard !rest.isEmpty else { continue }
            for candidate in [rest, rest.lowercased(), rest.prefix(1).lowercased() + rest.dropFirst()] {
                if candidate.lowercased() == "id", target.path("_id") != nil { return "_id" }
                if let path = target.path(candidate), path.depth == 0 { return candidate }
            }
        }
        return nil
    }

    /// A few distinct values of the field, each found in the target by a count query.
    private func overlaps(_ source: MongoCollection, field: String, target: MongoCollection, toField: String) throws -> Bool {
        var values: [BSONValue] = []
        try source.find(
            [field: ["$exists": true, "$ne": .null]],
            options: FindOptions(projection: CollectionScan.projection(ofField: field, keepingID: false), limit: referenceSampleSize, maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)
        ) { cursor in
            while let document = try cursor.next() {
                if let value = document[field], !values.contains(value) { values.append(value) }
            }
        }
        guard !values.isEmpty else { return false }
        let found = try target.countDocuments([toField: ["$in": .array(values)]], maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)
        return found > 0 && found >= values.count
    }

    private func existingValue(_ collection: MongoCollection, field: String) throws -> BSONValue? {
        try collection.find(
            [field: ["$exists": true, "$ne": .null]],
            options: FindOptions(projection: CollectionScan.projection(ofField: field, keepingID: false), limit: 1, maxTimeMS: maxTimeMS > 0 ? maxTimeMS : nil)
        ) { cursor in
            guard let document = try cursor.next(), let value = document.value(at: field) else { return nil }
            if case .array = value { return nil }
            if case .document = value { return nil }
            return value
        }
    }

    /// Whether one check entry passes on the database (the guessed rules are kept only then).
    private func passes(_ entry: String, on database: MongoDatabase) throws -> Bool {
        let indented = entry.split(separator: "\n").enumerated().map { $0.offset == 0 ? "  - \($0.element)" : "    \($0.element)" }
        let text = "version: 1\nchecks:\n" + indented.joined(separator: "\n") + "\n"
        let spec = try AuditSpec(text: text, file: "(init candidate)")
        let report = try Auditor(spec: spec, tool: "mongo-audit init").run(on: database.client, database: database.name, failOn: .low)
        return report.outcome == .passed
    }

    /// A path every check reads the same way: dotted names of plain keys, no array elements.
    private func isPlainPath(_ path: String) -> Bool {
        !path.contains("[]") && !path.hasPrefix("$") && !path.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.hasPrefix("$") }
    }

    private func keyValue(_ kind: String) -> String {
        Int(kind) != nil ? kind : yamlString(kind)
    }

    /// A finite number as JSON (and so YAML) writes it.
    private func number(_ value: Double) -> String { JSONValue.number(value).text(pretty: false) }
}

/// A double-quoted YAML scalar: JSON string syntax, which YAML reads as the same text.
func yamlString(_ text: String) -> String { JSONValue.string(text).text(pretty: false) }

/// Text safe inside a YAML comment: one line.
func yamlComment(_ text: String) -> String {
    safe(text)
}
