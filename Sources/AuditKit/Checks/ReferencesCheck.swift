import Foundation
import MongoKit
import SpecSupport

/// Documents whose reference field points to no document of another collection. Both sides are read as
/// one projected field and matched by 64-bit hash on the client: linear, no index needed, and no
/// server-side `$group` or `$lookup` that would spill to disk on millions of documents.
public struct ReferencesCheck: Check {
    public static let description = CheckDescription(
        identifier: "references",
        name: "References",
        summary: "Documents whose reference field (e.g. metadata.recording_uuid) matches no document of the "
            + "target collection (e.g. recordings.uuid). Missing and null references are not counted.",
        defaultSeverity: .medium,
        needs: "find on both collections (the read role)",
        options: [Options.collection, Options.field, Options.toCollection, Options.toField])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection holding the references")
        static let field = TypedOption<String>.path("field", "the reference field", required: true)
        static let toCollection = TypedOption<String>("to_collection", type: "name", "the referenced collection", required: true) {
            try $0.string()
        }
        static let toField = TypedOption<String>.path("to_field", "the referenced field (default _id)")
    }

    public static let examples = [
        CheckExample(
            "every reference resolves",
            setup: [
                ["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "b"]]],
                ["insert": "metadata", "documents": [["recording_uuid": "a"], ["recording_uuid": "b"], ["other": 1]]],
            ],
            entry: "collection: metadata\nfield: recording_uuid\nto_collection: recordings\nto_field: uuid"),
        CheckExample(
            "a reference to a recording that does not exist",
            setup: [
                ["insert": "recordings", "documents": [["uuid": "a"]]],
                ["insert": "metadata", "documents": [["recording_uuid": "a"], ["recording_uuid": "zzz"]]],
            ],
            entry: "collection: metadata\nfield: recording_uuid\nto_collection: recordings\nto_field: uuid",
            expect: [ExpectedFinding("metadata/orphan_references/recording_uuid->recordings.uuid", .medium, ["orphanDocuments": 1, "orphanValues": 1])]),
    ]

    let collectionName: String
    let field: String
    let targetCollection: String
    let targetField: String
    public var collection: String? { collectionName }

    public init(collection: String, field: String, toCollection: String, toField: String = "_id") {
        collectionName = collection
        self.field = field
        targetCollection = toCollection
        targetField = toField
    }

    public init(options: SpecFields) throws {
        self.init(
            collection: try options.required(Options.collection), field: try options.required(Options.field),
            toCollection: try options.required(Options.toCollection), toField: try options.value(Options.toField, default: "_id"))
    }

    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        // Pass 1: how many documents hold each reference value (by 64-bit hash; values stay on the server).
        var unresolved: [UInt64: Int] = [:]
        var referencingDocuments = 0
        try scan(context.database.collection(collectionName), field: field, context: context) { hash, _ in
            unresolved[hash, default: 0] += 1
            referencingDocuments += 1
            return true
        }
        let referencedValues = unresolved.count
        // Pass 2: strike every value the target collection holds; stop early once all are found.
        if !unresolved.isEmpty {
            try scan(context.database.collection(targetCollection), field: targetField, context: context) { hash, _ in
                unresolved.removeValue(forKey: hash)
                return !unresolved.isEmpty
            }
        }
        let orphanValues = unresolved.count
        let orphanDocuments = unresolved.values.reduce(0, +)
        // Pass 3, only when there are orphans: a few of their values as examples.
        var examples: [BSONValue] = []
        if orphanDocuments > 0 {
            try scan(context.database.collection(collectionName), field: field, context: context) { hash, reader in
                if unresolved.removeValue(forKey: hash) != nil, let value = reader.value(0) { examples.append(value) }
                return examples.count < 5
            }
        }
        let metrics: Metrics = [
            "referencingDocuments": .count(referencingDocuments), "referencedValues": .count(referencedValues),
            "orphanDocuments": .proportion(Proportion(count: orphanDocuments, of: referencingDocuments)), "orphanValues": .count(orphanValues),
        ]
        guard orphanDocuments > 0 else { return CheckOutput(metrics: metrics) }
        return CheckOutput(findings: [
            finding(
                "orphan_references", subject: "\(field)->\(targetCollection).\(targetField)", severity: severity,
                title: "\(orphanDocuments) document(s) reference a \(targetCollection).\(targetField) that does not exist (\(orphanValues) distinct value(s))",
                impact: "Joins from \(collectionName) to \(targetCollection) silently drop these documents; they are orphans "
                    + "left by deletes or written with wrong references.",
                fix: "find them: db.getSiblingDB(\"\(context.database.name)\").\(collectionName).aggregate([{$lookup: {from: \"\(targetCollection)\", localField: \"\(field)\", foreignField: \"\(targetField)\", as: \"target\"}}, {$match: {target: {$size: 0}}}])",
                metrics: metrics, examples: examples)
        ], metrics: metrics)
    }

    /// Reads one field of every document (projected), calling `visit` with the value's hash and the reader
    /// until it returns false.
    private func scan(
        _ collection: MongoCollection, field: String, context: AuditContext, _ visit: (UInt64, FieldReader) -> Bool
    ) throws {
        let reader = FieldReader(paths: [field])
        let projection: Document = field == "_id" ? ["_id": 1] : [field: 1, "_id": 0]
        try collection.find(
            options: FindOptions(
                projection: projection, batchSize: CollectionScan.batchSize, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference,
                exhaust: true)
        ) { cursor in
            try cursor.forEachViewPrefetched { view in
                reader.load(view)
                guard let hash = reader.valueHash(0) else { return true }
                return visit(hash, reader)
            }
        }
    }
}
