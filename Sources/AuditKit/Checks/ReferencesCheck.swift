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

    /// References look at elements, as `$lookup` does: each value the reference path reaches (an array's
    /// elements) must equal, by MongoDB's equality (1, 1.0 and Decimal128("1") alike), a value the target
    /// path reaches in some document. Missing, null and undefined references and empty arrays are not
    /// counted. A document is an orphan when one of its references resolves to nothing. Hashes (SipHash,
    /// random key per run) only narrow the search: every value is compared with its match itself.
    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let key = SipHasher.randomKey()
        let source = context.database.collection(collectionName)
        let target = context.database.collection(targetCollection)
        // Pass 1: the hashes of the reference values, and how many documents hold each.
        var referenced: [UInt64: Int] = [:]
        var referencingDocuments = 0
        try scan(source, field: field, context: context) { reader in
            var hashes: [UInt64] = []
            reader.forEachElement(0) { value, _ in
                let hash = reader.hash(value, key: key)
                if !hashes.contains(hash) { hashes.append(hash) }
            }
            if !hashes.isEmpty { referencingDocuments += 1 }
            for hash in hashes { referenced[hash, default: 0] += 1 }
            return true
        }
        // Pass 2: the target's values with those hashes, kept exactly; it stops once every hash has one.
        var matched: [UInt64: [(bytes: [UInt8], hit: Bool)]] = [:]
        var complete = true
        func readTarget(stopEarly: Bool) throws {
            matched = [:]
            complete = true
            guard !referenced.isEmpty else { return }
            try scan(target, field: targetField, context: context) { reader in
                reader.forEachElement(0) { value, _ in
                    let hash = reader.hash(value, key: key)
                    guard referenced[hash] != nil else { return }
                    let bytes = canonicalBytes(value)
                    if !(matched[hash]?.contains { $0.bytes == bytes } ?? false) { matched[hash, default: []].append((bytes, false)) }
                }
                if stopEarly && matched.count == referenced.count {
                    complete = false
                    return false
                }
                return true
            }
        }
        try readTarget(stopEarly: true)
        // Pass 3: each reference value compared with the target's values of its hash.
        var orphans: [[UInt8]: (value: BSONValue, documents: Int)] = [:]
        var orphanOrder: [[UInt8]] = []
        var orphanDocuments = 0
        var suspect = false
        func readSource() throws {
            orphans = [:]
            orphanOrder = []
            orphanDocuments = 0
            suspect = false
            guard !referenced.isEmpty else { return }
            try scan(source, field: field, context: context) { reader in
                var documentOrphans: [[UInt8]] = []
                reader.forEachElement(0) { value, position in
                    let hash = reader.hash(value, key: key)
                    let bytes = canonicalBytes(value)
                    if let index = matched[hash]?.firstIndex(where: { $0.bytes == bytes }) {
                        matched[hash]![index].hit = true
                        return
                    }
                    // The same hash in the target but another value: a collision, or the pass stopped early.
                    if matched[hash] != nil && !complete { suspect = true }
                    guard !documentOrphans.contains(bytes) else { return }
                    documentOrphans.append(bytes)
                    if orphans[bytes] == nil {
                        orphans[bytes] = (reader.value(0, position) ?? .undefined, 0)
                        orphanOrder.append(bytes)
                    }
                    orphans[bytes]!.documents += 1
                }
                if !documentOrphans.isEmpty { orphanDocuments += 1 }
                return true
            }
        }
        try readSource()
        if suspect {
            try readTarget(stopEarly: false)
            try readSource()
        }
        let orphanValues = orphans.count
        let referencedValues = orphanValues + matched.values.reduce(0) { $0 + $1.filter(\.hit).count }
        let examples = orphanOrder.prefix(5).compactMap { orphans[$0]?.value }
        let metrics: Metrics = [
            "referencingDocuments": .count(referencingDocuments), "referencedValues": .count(referencedValues),
            "orphanDocuments": .proportion(Proportion(count: orphanDocuments, of: referencingDocuments)), "orphanValues": .count(orphanValues),
        ]
        var absent = try collectionFindings(collectionName, documents: try source.estimatedDocumentCount(), severity: severity, context: context)
        if try context.collections().contains(where: { $0.name == collectionName }) {
            absent += try collectionFindings(targetCollection, documents: try target.estimatedDocumentCount(), severity: severity, context: context)
        }
        if absent.isEmpty && referencingDocuments == 0 {
            absent.append(finding(
                "no_values", subject: "\(field)->\(targetCollection).\(targetField)", severity: severity,
                title: "no document of \(collectionName) holds a reference in '\(field)': nothing was checked",
                impact: "A reference check over no value passes whatever the data; the field may be misspelled or absent.",
                metrics: metrics))
        }
        guard orphanDocuments > 0 else { return CheckOutput(findings: absent, metrics: metrics) }
        return CheckOutput(findings: absent + [
            finding(
                "orphan_references", subject: "\(field)->\(targetCollection).\(targetField)", severity: severity,
                title: "\(orphanDocuments) document(s) reference a \(targetCollection).\(targetField) that does not exist (\(orphanValues) distinct value(s))",
                impact: "Joins from \(collectionName) to \(targetCollection) silently drop these documents; they are orphans "
                    + "left by deletes or written with wrong references.",
                fix: "find them: db.getSiblingDB(\"\(context.database.name)\").\(collectionName).aggregate([{$lookup: {from: \"\(targetCollection)\", localField: \"\(field)\", foreignField: \"\(targetField)\", as: \"target\"}}, {$match: {target: {$size: 0}}}])",
                metrics: metrics, examples: examples)
        ], metrics: metrics)
    }

    /// Reads one field of every document (projected, up to the path's first numeric component), calling
    /// `visit` with the loaded reader until it returns false.
    private func scan(_ collection: MongoCollection, field: String, context: AuditContext, _ visit: (FieldReader) -> Bool) throws {
        let reader = FieldReader(paths: [field])
        let projected = CollectionScan.projectionPath(field)
        let projection: Document = projected == "_id" || projected.hasPrefix("_id.") ? [projected: 1] : [projected: 1, "_id": 0]
        try collection.find(
            options: FindOptions(
                projection: projection, batchSize: CollectionScan.batchSize, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference,
                exhaust: true)
        ) { cursor in
            try cursor.forEachViewPrefetched { view in
                reader.load(view)
                return visit(reader)
            }
        }
    }
}
