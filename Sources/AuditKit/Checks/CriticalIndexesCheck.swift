import Foundation
import MongoKit
import SpecSupport

/// The indexes a collection must have, with their key order, direction and options. An existing compound
/// index whose leading keys are the required ones serves it too, and the finding says which.
public struct CriticalIndexesCheck: Check {
    public static let description = CheckDescription(
        identifier: "critical_indexes",
        name: "Critical indexes",
        summary: "Each required index exists with the same keys in the same order and direction and the "
            + "required options (unique, sparse, partial filter, TTL, collation), and is not hidden.",
        defaultSeverity: .high,
        needs: "listIndexes on the collection (the read role)",
        options: [Options.collection, Options.indexes])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection whose indexes are checked")
        static let indexes = TypedOption<[IndexSpec]>(
            "indexes", type: "list",
            "required indexes: keys (ordered mapping field: 1, -1, text, hashed, 2dsphere), "
                + "and optionally name, unique, sparse, partial_filter, expire_after_seconds, collation",
            required: true
        ) { node in
            try node.nonEmptyList { entry in
                let spec = try entry.indexSpec()
                if spec.hidden {
                    throw try entry.fields(allowed: SpecNode.indexFields).required("hidden").error("a required index cannot be hidden")
                }
                return spec
            }
        }
    }

    public static let examples = [
        CheckExample(
            "all four indexes exist",
            setup: [Self.createIndexes(["start_time", "end_time", "uuid", "deleted"])],
            entry: "collection: recordings\nindexes: [{keys: {start_time: 1}}, {keys: {end_time: 1}}, {keys: {uuid: 1}}, {keys: {deleted: 1}}]",
            expect: []),
        CheckExample(
            "end_time and uuid are missing", setup: [Self.createIndexes(["start_time", "deleted"])],
            entry: "collection: recordings\nindexes: [{keys: {start_time: 1}}, {keys: {end_time: 1}}, {keys: {uuid: 1}}]",
            expect: [ExpectedFinding("recordings/missing_index/{end_time: 1}"), ExpectedFinding("recordings/missing_index/{uuid: 1}")]),
        CheckExample(
            "a compound index serves its prefix",
            setup: [["createIndexes": "recordings", "indexes": [["key": ["start_time": 1, "site": 1], "name": "st_site"]]]],
            entry: "collection: recordings\nindexes: [{keys: {start_time: 1}}]",
            expect: [ExpectedFinding("recordings/served_by_prefix/{start_time: 1}", .info)]),
        CheckExample(
            "the direction differs",
            setup: [["createIndexes": "recordings", "indexes": [["key": ["start_time": -1, "site": 1], "name": "st_site"]]]],
            entry: "collection: recordings\nindexes: [{keys: {start_time: 1, site: 1}}]",
            expect: [ExpectedFinding("recordings/missing_index/{start_time: 1, site: 1}")]),
        CheckExample(
            "unique is required but the index is not unique", setup: [Self.createIndexes(["uuid"])],
            entry: "collection: recordings\nindexes: [{keys: {uuid: 1}, unique: true}]",
            expect: [ExpectedFinding("recordings/options_differ/{uuid: 1}")]),
        CheckExample(
            "the index is hidden",
            setup: [["createIndexes": "recordings", "indexes": [["key": ["uuid": 1], "name": "uuid_1", "hidden": true]]]],
            entry: "collection: recordings\nindexes: [{keys: {uuid: 1}}]", expect: [ExpectedFinding("recordings/hidden_index/{uuid: 1}")]),
        CheckExample(
            "TTL and partial filter match",
            setup: [
                [
                    "createIndexes": "sessions",
                    "indexes": [["key": ["expires_at": 1], "name": "ttl", "expireAfterSeconds": 3600, "partialFilterExpression": ["deleted": false]]],
                ]
            ],
            entry: "collection: sessions\nindexes: [{keys: {expires_at: 1}, expire_after_seconds: 3600, partial_filter: {deleted: false}}]"),
    ]

    static func createIndexes(_ fields: [String]) -> Document {
        ["createIndexes": "recordings", "indexes": .array(fields.map { ["key": [$0: 1], "name": .string("\($0)_1")] })]
    }

    let collectionName: String
    let required: [IndexSpec]
    public var collection: String? { collectionName }

    public init(collection: String, indexes: [IndexSpec]) {
        collectionName = collection
        required = indexes
    }

    public init(options: SpecFields) throws {
        self.init(collection: try options.required(Options.collection), indexes: try options.required(Options.indexes))
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let existing = try context.indexes(of: collectionName)
        let findings = required.compactMap { finding(for: $0, existing: existing, context: context, severity: severity) }
        return CheckOutput(
            findings: findings,
            metrics: [
                "indexesRequired": .count(required.count), "indexesExisting": .count(existing.count),
                "indexesMissing": .count(findings.filter { $0.severity > .info }.count),
            ])
    }

    private func finding(for wanted: IndexSpec, existing: [IndexSpec], context: AuditContext, severity: Severity)
        -> Finding?
    {
        let keyText = wanted.keys.map(\.description).joined(separator: ", ")
        let subject = "{\(keyText)}"
        if let match = existing.first(where: { $0.satisfies(wanted) }) {
            guard match.hidden else { return nil }
            return finding(
                "hidden_index", subject: subject, severity: severity,
                title: "index '\(match.name)' on {\(keyText)} exists but is hidden",
                impact: "The query planner ignores hidden indexes, so queries on these keys scan the collection.",
                fix: context.shellCommand(["collMod": .string(collectionName), "index": ["name": .string(match.name), "hidden": false]]),
                facts: [("index", match.name)])
        }
        if let prefix = existing.first(where: { $0.servesAsPrefix(of: wanted) }) {
            return finding(
                "served_by_prefix", subject: subject, severity: .info,
                title: "required index {\(keyText)} is served by the prefix of '\(prefix.name)'",
                impact: "Queries on these keys use '\(prefix.name)'; dropping that index would leave them unindexed.",
                facts: [("servedBy", prefix.name)])
        }
        let impact =
            "Queries that filter or sort on \(wanted.keys.map(\.field).joined(separator: ", ")) scan the whole "
            + "collection; on millions of documents that takes seconds and loads the server."
        var facts: [(name: String, text: String)] = wanted.unique ? [("unique", "required")] : []
        if let sameKeys = existing.first(where: { $0.hasSameKeys(as: wanted) }) {
            // The server refuses a second index on the same keys with other options, so createIndexes is no fix.
            facts.append(("existing", sameKeys.document.relaxedJSON))
            facts += sameKeys.differences(from: wanted).map { ("differs", $0) }
            return finding(
                "options_differ", subject: subject, severity: severity,
                title: "index '\(sameKeys.name)' has the required keys {\(keyText)} but not the required options", impact: impact,
                fix: changeCommands(sameKeys, into: wanted, context: context), facts: facts)
        }
        var toCreate = wanted
        if let sameName = existing.first(where: { $0.name == wanted.name }) {
            // Creating under a taken name fails; a free name works and leaves that other index alone.
            let taken = Set(existing.map(\.name))
            toCreate.name = (2...).lazy.map { "\(wanted.name)_\($0)" }.first { !taken.contains($0) }!
            facts.append(
                (
                    "nameConflict",
                    "an index named '\(wanted.name)' already exists on other keys (\(sameName.document.relaxedJSON)); the fix creates '\(toCreate.name)'"
                ))
        }
        return finding(
            "missing_index", subject: subject, severity: severity, title: "required index {\(keyText)} is missing", impact: impact,
            fix: context.shellCommand(["createIndexes": .string(collectionName), "indexes": [.document(toCreate.document)]]),
            facts: facts, indexToCreate: toCreate.document)
    }

    /// The commands that turn an existing index into the wanted one with the same keys: in place where the
    /// server can (uniqueness on MongoDB 6.0+, a TTL), else drop and recreate.
    private func changeCommands(_ existing: IndexSpec, into wanted: IndexSpec, context: AuditContext) -> String {
        let index = { (option: String, value: BSONValue) -> Document in
            ["collMod": .string(self.collectionName), "index": .document(Document([("name", .string(existing.name)), (option, value)]))]
        }
        var uniqueOnly = existing
        uniqueOnly.unique = wanted.unique
        if !existing.unique && wanted.unique && uniqueOnly.satisfies(wanted) {
            return "on MongoDB 6.0 or newer, in place: " + context.shellCommand(index("prepareUnique", true)) + " then "
                + context.shellCommand(index("unique", true)) + " (the second fails, naming them, while duplicates exist)"
        }
        var ttlOnly = existing
        ttlOnly.expireAfterSeconds = wanted.expireAfterSeconds
        if let seconds = wanted.expireAfterSeconds, existing.expireAfterSeconds != nil, ttlOnly.satisfies(wanted) {
            return context.shellCommand(index("expireAfterSeconds", .int64(Int64(seconds))))
        }
        var replacement = wanted
        replacement.name = existing.name
        return "drop and recreate it (queries on these keys scan the collection in between): "
            + context.shellCommand(["dropIndexes": .string(collectionName), "index": .string(existing.name)]) + " then "
            + context.shellCommand(["createIndexes": .string(collectionName), "indexes": [.document(replacement.document)]])
    }
}

extension CriticalIndexesCheck {
    /// A unique index cannot be built over values that are not unique: when the same audit found
    /// duplicates of the indexed field, the index finding says so and its fix starts with them.
    public static func annotate(_ checks: inout [CheckResult]) {
        let duplicates = checks.flatMap(\.findings).filter { $0.check == UniqueValuesCheck.description.identifier && $0.kind == "duplicate_values" }
        guard !duplicates.isEmpty else { return }
        for c in checks.indices where checks[c].check == description.identifier {
            for f in checks[c].findings.indices {
                let finding = checks[c].findings[f]
                guard finding.fact("unique") == "required", let subject = finding.subject,
                    let blocker = duplicates.first(where: { duplicate in
                        duplicate.collection == finding.collection
                            && ["{\(duplicate.subject ?? ""): 1}", "{\(duplicate.subject ?? ""): -1}"].contains(subject)
                    })
                else { continue }
                let count = blocker.metrics["duplicatedValues"].map { Int($0.number) } ?? 0
                checks[c].findings[f].facts.append(
                    ("blockedBy", "\(blocker.id): \(count) duplicated value(s); the unique index cannot be built until they are resolved"))
                checks[c].findings[f].fix = "first resolve the duplicates (\(blocker.id)): \(blocker.fix ?? ""); then: \(finding.fix ?? "")"
            }
        }
    }
}

extension CriticalIndexesCheck {
    /// The collection's indexes as they are, with their options.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection, !input.indexes.isEmpty else { return [] }
        let indexes = input.indexes.map { index -> StarterValue in
            var fields: [(String, StarterValue)] = [
                ("keys", .data(index.keys.map { ($0.field, Int($0.kind) != nil ? .plain($0.kind) : .text($0.kind)) }, flow: true))
            ]
            if index.unique { fields.append(("unique", .plain("true"))) }
            if index.sparse { fields.append(("sparse", .plain("true"))) }
            if let seconds = index.expireAfterSeconds { fields.append(("expire_after_seconds", .plain(String(seconds)))) }
            if let filter = index.partialFilterExpression { fields.append(("partial_filter", .json(filter.extendedJSON))) }
            if let collation = index.collation { fields.append(("collation", .json(collation.extendedJSON))) }
            return .options(fields, flow: false)
        }
        return [
            StarterEntry(
                comments: ["the indexes of today: " + input.indexes.map(\.name).joined(separator: ", ")],
                [("collection", .text(collection.collection)), ("indexes", .list(indexes, flow: false))])
        ]
    }
}
