import Foundation
import MongoKit
import ScanKernel
import SpecSupport
import TextEscaping

/// Documents whose reference field points to no document of another collection. Each collection is read
/// once, in its shared pass, and the smaller side is held in memory as keyed 64-bit hashes, like a hash
/// join's build side: with no more referencing documents than target documents, the source's pass (run
/// first) holds the references and the target's pass looks its values up in them (`HeldReferences.swift`);
/// otherwise the target's pass (run first) collects the target's values, sorted, and the source's pass
/// looks its references up in them. No index is needed, and no server-side `$group` or `$lookup` that would
/// spill to disk on millions of documents.
///
/// Exactness. Hashes are SipHash over MongoDB's canonical form of a value (equal values, such as 1, 1.0
/// and Decimal128("1"), hash alike) with a random key per audit. A reference whose hash is not among the
/// target's is certainly an orphan, and orphan values are counted on their canonical bytes. A reference
/// whose hash is among the target's is taken as resolved without comparing the values, so an orphan is
/// missed only when its hash equals a target value's by chance: at most (orphan values x target values)
/// / 2^64 per audit, counting distinct values (under 6e-8 for a million of each, 1.4e-6 for 5 million).
/// Samples resolved by index or by a read of the target compare the values themselves.
///
/// Memory. Held references take 12 bytes each (hash and document number) plus their table's index and
/// their documents' `_id`s (about 6 bytes more for ObjectIds), up to `fingerprintBudgetBytes` (12 MB, about 700,000 references); beyond
/// it the check reads both collections on its own. Target hashes take 8 bytes per distinct target value,
/// up to the same budget (about 1.5 million values), plus one bit per value for the references that hit it. A target with more
/// documents than that rides no pass (the old separate read): the source's pass keeps its references'
/// hashes instead (8 bytes per distinct reference, within the same budget), one read of the target marks
/// those it holds and one more read of the source counts the orphans. A target whose values outgrow the
/// budget though its documents do not (arrays) is held in part, a range of hash values, and the references
/// beyond it are resolved the same way. References beyond the budget too take one more read of each per
/// further range of hashes. The finding's facts say which. Orphans keep their canonical bytes.
///
/// Samples. A sample of at most `indexedSampleLimit` documents, when an index led by the target field can
/// serve it, keeps its distinct values and resolves them by `$in` queries on that index, comparing the
/// values returned: the target is not scanned. Otherwise the sample rides the target's shared pass when that
/// pass reads the whole target; when there is no such pass (or the target's hashes did not fit) it keeps
/// its values and compares them with one read of the target. Its figures are flagged as a sample.
public struct ReferencesCheck: CrossCollectionCheck {
    public static let description = CheckDescription(
        identifier: "references",
        name: "References",
        summary: "Documents whose reference field (e.g. metadata.recording_uuid) matches no document of the "
            + "target collection (e.g. recordings.uuid). Missing and null references are not counted.",
        defaultSeverity: .medium,
        needs:
            "find on both collections (the read role); one shared pass over each (the smaller side held in memory), or for a sample $in queries on an index led by the target field",
        options: [Options.collection, Options.field, Options.toCollection, Options.toField],
        metrics: [
            .worseUp("orphanDocuments", .documents), .worseUp("orphanValues", .values), .notCompared("referencingDocuments", .documents),
            .notCompared("referencedValues", .values),
        ])

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
        CheckExample(
            "references in arrays, compared by MongoDB's equality",
            setup: [
                ["insert": "recordings", "documents": [["_id": 1], ["_id": 2]]],
                ["insert": "metadata", "documents": [["r": [1, .double(2)]], ["r": [.int64(2), .decimal128("3")]], ["r": []], ["r": .null]]],
            ],
            entry: "collection: metadata\nfield: r\nto_collection: recordings",
            expect: [ExpectedFinding("metadata/orphan_references/r->recordings._id", .medium, ["orphanDocuments": 1, "orphanValues": 1])]),
    ]

    /// Samples up to this many documents are resolved through the target's index when it has one; larger
    /// ones ride the target's shared pass like a whole collection, so as not to keep their values.
    static let indexedSampleLimit = 100_000
    /// The most memory the target's hashes may take; a larger target is read in ranges of hash values.
    var fingerprintBudgetBytes = 12 << 20
    var fingerprintCapacity: Int { max(16, fingerprintBudgetBytes / 8) }

    let collectionName: String
    let field: String
    let targetCollection: String
    let targetField: String
    /// How this audit reads the target (nil: the check runs on its own and reads the target itself).
    var arrangement: Arrangement?
    /// The key of the hashes of a sample's kept values, the same for every part of a pass.
    let sampleKey = SipHasher.randomKey()
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { [field] }
    public var otherCollection: String { targetCollection }

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

    var subject: String { "\(field)->\(targetCollection).\(targetField)" }

    public func readsBeyondItsPass(documents: Int) -> String? {
        switch arrangement?.target {
        case .byIndex: "references: the sample's values of \(field) looked up by $in on the index of \(targetCollection).\(targetField)"
        case .separateRead(let why):
            "references: one more read of \(targetCollection).\(targetField)"
                + (arrangement?.sampled == true ? "" : " and of \(collectionName).\(field)") + " after this pass (\(why))"
        case .missing, .sharedPass, .holdingReferences, nil: nil
        }
    }

    struct Arrangement: Sendable {
        enum Target: Sendable {
            /// The target does not exist: every reference is an orphan.
            case missing
            /// Its values come from its shared pass, which runs first.
            case sharedPass(TargetValues)
            /// This check's pass holds the references' hashes; the target's shared pass, which runs after it,
            /// looks its values up in them and gives the check's result.
            case holdingReferences(HeldReferences)
            /// A sample's values are looked up with `$in` queries served by an index led by the target field.
            case byIndex
            /// The check reads the target itself.
            case separateRead(why: String)
        }
        let target: Target
        let sampled: Bool
    }

    package func arranged(_ reading: CrossCollectionReading, context: AuditContext) -> CrossCollectionArrangement {
        var bound = self
        let sampled = reading.ownSampleSize != nil
        func arrange(_ target: Arrangement.Target, rider: CrossCollectionArrangement.Rider = .none) -> CrossCollectionArrangement {
            bound.arrangement = Arrangement(target: target, sampled: sampled)
            return CrossCollectionArrangement(check: bound, rider: rider)
        }
        if case .missing = reading.otherPass { return arrange(.missing) }
        if let size = reading.ownSampleSize, size <= Self.indexedSampleLimit, targetFieldIsIndexed(context: context) {
            return arrange(.byIndex)
        }
        guard case .whole(let canGoBefore, let canGoAfter) = reading.otherPass else {
            return arrange(.separateRead(why: "the target has no shared pass that reads it whole"))
        }
        let targetDocuments = (try? context.database.collection(targetCollection).estimatedDocumentCount()) ?? 0
        // Like a hash join, hold the smaller side: the references, when there are no more of them than target
        // documents and they fit the budget; the target's pass then looks its values up in them and finishes the check.
        if canGoAfter, !sampled, let sourceDocuments = try? context.database.collection(collectionName).estimatedDocumentCount(),
            sourceDocuments <= targetDocuments, sourceDocuments <= HeldReferences.capacity(budgetBytes: fingerprintBudgetBytes)
        {
            let held = HeldReferences(budgetBytes: fingerprintBudgetBytes)
            var finishing = bound
            finishing.arrangement = Arrangement(target: .holdingReferences(held), sampled: false)
            return arrange(.holdingReferences(held), rider: .finishesAfter(ReferenceLookupRider(check: finishing, held: held)))
        }
        guard canGoBefore else { return arrange(.separateRead(why: "the target's shared pass cannot run before this one")) }
        // A target with more documents than the budget holds hashes would be held in part only: the
        // references are then kept as hashes in their own pass and resolved by one read of each instead.
        guard targetDocuments <= fingerprintCapacity else {
            return arrange(.separateRead(why: "the target's values do not fit the \(fingerprintBudgetBytes >> 20) MB budget of hashes"))
        }
        let values = TargetValues(capacity: fingerprintCapacity)
        return arrange(
            .sharedPass(values),
            rider: .collectsBefore(
                TargetRider(field: targetField, values: values, purpose: "references (values of \(targetField) for \(collectionName).\(field))")))
    }

    /// Whether an index the server would use for `{targetField: {$in: [...]}}` exists: led by the field, with
    /// the default collation, no partial filter, not hidden.
    func targetFieldIsIndexed(context: AuditContext) -> Bool {
        guard let indexes = try? context.indexes(of: targetCollection) else { return false }
        return indexes.contains { index in
            guard let first = index.keys.first, first.field == targetField else { return false }
            return ["1", "-1", "hashed"].contains(first.kind) && index.collation == nil && index.partialFilterExpression == nil && !index.hidden
        }
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        let slot = fields.index(of: field)!
        let arrangement = arrangement ?? Arrangement(target: .separateRead(why: "the check ran on its own"), sampled: false)
        switch arrangement.target {
        case .missing:
            return ResolvingAccumulator(check: self, slot: slot, key: SipHasher.randomKey(), known: .everything, method: "the target does not exist")
        case .byIndex:
            return KeepingAccumulator(check: self, slot: slot, byIndex: true)
        case .sharedPass(let values):
            guard let known = values.collected else { return separately("the target's shared pass did not finish") }
            // A sample cannot be read again for the hash ranges the shared pass could not hold: it keeps its values.
            guard known.coversEverything || !arrangement.sampled else { return separately("the target's values did not fit the budget of hashes") }
            let part = known.coversEverything ? "" : " (in part: they did not fit the \(fingerprintBudgetBytes >> 20) MB budget of hashes)"
            return ResolvingAccumulator(
                check: self, slot: slot, key: values.key, known: known, method: "hashes of the target's values from its shared pass" + part, shared: values)
        case .holdingReferences(let held):
            return ReferenceHolder(check: self, slot: slot, held: held, expectedDocuments: expectedDocuments)
        case .separateRead(let why):
            return separately(why)
        }
        func separately(_ why: String) -> any DocumentAccumulator {
            if arrangement.sampled { return KeepingAccumulator(check: self, slot: slot, byIndex: false) }
            return ResolvingAccumulator(
                check: self, slot: slot, key: SipHasher.randomKey(), known: .nothing, method: "hashes of the references resolved by reads of their own: " + why)
        }
    }

    /// The findings and figures, common to both ways of resolving.
    func output(
        referencingDocuments: Int, referencedValues: Int, orphans: Orphans, facts: [(name: String, text: String)], severity: Severity,
        scan: ScanSummary, context: AuditContext
    ) throws -> CheckOutput {
        let orphanDocuments: Proportion
        if scan.sampled {
            let estimated = scan.scanned == 0 ? 0 : Int((Double(referencingDocuments) * Double(scan.total) / Double(scan.scanned)).rounded())
            orphanDocuments = Proportion(count: orphans.documents, of: referencingDocuments, exact: false, total: estimated)
        } else {
            orphanDocuments = Proportion(count: orphans.documents, of: referencingDocuments)
        }
        let metrics: Metrics = [
            "referencingDocuments": .count(referencingDocuments), "referencedValues": .count(referencedValues),
            "orphanDocuments": .proportion(orphanDocuments), "orphanValues": .count(orphans.values),
        ]
        var absent = try collectionFindings(collectionName, documents: scan.total, severity: severity, context: context)
        if try context.collections().contains(where: { $0.name == collectionName }) {
            let target = context.database.collection(targetCollection)
            absent += try collectionFindings(targetCollection, documents: try target.estimatedDocumentCount(), severity: severity, context: context)
        }
        if absent.isEmpty && referencingDocuments == 0 {
            absent.append(
                finding(
                    "no_values", subject: subject, severity: severity,
                    title: "no document of \(collectionName) holds a reference in '\(field)': nothing was checked",
                    impact: "A reference check over no value passes whatever the data; the field may be misspelled or absent.",
                    metrics: metrics))
        }
        guard orphans.documents > 0 else { return CheckOutput(findings: absent, metrics: metrics) }
        let sampleNote = scan.sampled ? " in a sample of \(scan.scanned)" : ""
        return CheckOutput(
            findings: absent + [
                finding(
                    "orphan_references", subject: subject, severity: severity,
                    title:
                        "\(orphans.documents) document(s) reference a \(targetCollection).\(targetField) that does not exist (\(orphans.values) distinct value(s))\(sampleNote)",
                    impact: "Joins from \(collectionName) to \(targetCollection) silently drop these documents; they are orphans "
                        + "left by deletes or written with wrong references.",
                    fix:
                        "find them: \(context.shellCollection(collectionName)).aggregate([{$lookup: {from: \(Escape.mongoshString(targetCollection)), localField: \(Escape.mongoshString(field)), foreignField: \(Escape.mongoshString(targetField)), as: \"target\"}}, {$match: {target: {$size: 0}}}])",
                    metrics: metrics, examples: orphans.examples.map(\.value), facts: facts)
            ], metrics: metrics)
    }

    /// Reads one field of every document (projected, up to the path's first numeric component), calling
    /// `visit` with the loaded reader; `filter` narrows the documents read.
    func read(_ collection: String, field: String, filter: Document = [:], context: AuditContext, _ visit: (FieldReader) -> Void) throws {
        let reader = FieldReader(paths: [field])
        let projection = CollectionScan.projection(ofField: field, keepingID: false)
        try context.database.collection(collection).find(
            filter,
            options: FindOptions(
                projection: projection, batchSize: CollectionScan.batchSize, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference,
                exhaust: filter.isEmpty)
        ) { cursor in
            try cursor.forEachViewPrefetched { view in
                reader.load(view)
                visit(reader)
                return true
            }
        }
    }
}

/// The target's values as the rider collects them in the target's shared pass; the source's pass, which
/// starts after that pass has finished, reads them and lets them go.
final class TargetValues: @unchecked Sendable {
    let key = SipHasher.randomKey()
    let capacity: Int
    /// Set when the target's pass has finished; nil when it did not run.
    var collected: Fingerprints?

    init(capacity: Int) { self.capacity = capacity }
}

/// Collects the target field's hashes in the target collection's shared pass.
struct TargetRider: PassRider {
    let field: String
    let values: TargetValues
    let purpose: String
    var fieldsRead: [String] { [field] }

    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        TargetAccumulator(values: values, slot: fields.index(of: field)!, expectedDocuments: expectedDocuments)
    }
}

final class TargetAccumulator: DocumentAccumulator {
    let values: TargetValues
    let slot: Int
    @exclusivity(unchecked) var hashes: Fingerprints

    init(values: TargetValues, slot: Int, expectedDocuments: Int) {
        self.values = values
        self.slot = slot
        hashes = Fingerprints(capacity: values.capacity, expected: expectedDocuments)
    }

    func visit(_ document: DocumentView, fields: FieldReader) {
        fields.forEachElement(slot) { value, _ in hashes.add(fields.hash(value, key: values.key)) }
    }

    func merge(_ other: any DocumentAccumulator) {
        let other = mergeable(other)
        hashes.merge(other.hashes)
    }

    /// Hands the sorted hashes to the source's check; nothing to report.
    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
        hashes.finish()
        values.collected = hashes
        hashes = Fingerprints.nothing
        return CheckOutput()
    }
}

/// Distinct orphan values (their canonical bytes, by hash: an orphan's hash is in no target range, so any
/// value with that hash is an orphan too), the documents holding one, and the first few as examples.
struct Orphans {
    static let exampleLimit = 5
    private(set) var byHash: [UInt64: [[UInt8]]] = [:]
    private(set) var values = 0
    var documents = 0
    private(set) var examples: [(bytes: [UInt8], value: BSONValue)] = []

    init() {}

    /// Figures counted elsewhere (by hash), with their examples.
    init(values: Int, documents: Int, examples: [(bytes: [UInt8], value: BSONValue)]) {
        self.values = values
        self.documents = documents
        self.examples = examples
    }

    func contains(_ hash: UInt64) -> Bool { byHash[hash] != nil }

    /// Adds a value unless it is there already.
    mutating func add(_ hash: UInt64, bytes: [UInt8], example: () -> BSONValue?) {
        if byHash[hash]?.contains(bytes) == true { return }
        byHash[hash, default: []].append(bytes)
        values += 1
        if examples.count < Self.exampleLimit, let value = example() { examples.append((bytes, value)) }
    }

    mutating func merge(_ other: Orphans) {
        let examples = Dictionary(other.examples.map { ($0.bytes, $0.value) }, uniquingKeysWith: { first, _ in first })
        for (hash, list) in other.byHash {
            for bytes in list { add(hash, bytes: bytes) { examples[bytes] } }
        }
        documents += other.documents
    }
}

/// Looks each reference up in the target's hashes from the shared pass as the source's pass visits its
/// documents. References beyond the range of hashes the shared pass could hold are kept as hashes
/// (`pending`, within the same budget) and resolved after the pass by one more read of each collection;
/// beyond that budget too, by further reads of both, one range of hash values at a time.
final class ResolvingAccumulator: DocumentAccumulator {
    let check: ReferencesCheck
    let slot: Int
    let key: (UInt64, UInt64)
    private(set) var known: Fingerprints
    let method: String
    let shared: TargetValues?
    /// One bit per target hash: referenced by some document.
    @exclusivity(unchecked) var hits: Bits
    @exclusivity(unchecked) var referencingDocuments = 0
    @exclusivity(unchecked) var orphans = Orphans()
    /// The hashes of the references beyond the range of `known`.
    @exclusivity(unchecked) var pending: Fingerprints
    @exclusivity(unchecked) var uncovered = false

    init(check: ReferencesCheck, slot: Int, key: (UInt64, UInt64), known: Fingerprints, method: String, shared: TargetValues? = nil) {
        self.check = check
        self.slot = slot
        self.key = key
        self.known = known
        self.method = method
        self.shared = shared
        hits = Bits(count: known.count)
        pending = known.upper.map { Fingerprints(from: $0, capacity: check.fingerprintCapacity, expected: 0) } ?? .nothing
    }

    func visit(_ document: DocumentView, fields: FieldReader) {
        var holds = false
        var orphan = false
        fields.forEachElement(slot) { value, position in
            holds = true
            let hash = fields.hash(value, key: key)
            guard known.covers(hash) else {
                uncovered = true
                pending.add(hash)
                return
            }
            if let index = known.index(of: hash) {
                hits.insert(index)
                return
            }
            orphan = true
            orphans.add(hash, bytes: canonicalBytes(value)) { fields.value(slot, position) }
        }
        if holds { referencingDocuments += 1 }
        if orphan { orphans.documents += 1 }
    }

    func merge(_ other: any DocumentAccumulator) {
        let other = mergeable(other)
        hits.formUnion(other.hits)
        referencingDocuments += other.referencingDocuments
        orphans.merge(other.orphans)
        pending.merge(other.pending)
        uncovered = uncovered || other.uncovered
    }

    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
        shared?.collected = nil
        var resolved = hits.setCount
        known = .nothing
        hits = Bits(count: 0)
        var facts: [(name: String, text: String)] = [("method", method)]
        if uncovered, !scan.sampled {
            let reads = try resolvePending(resolved: &resolved, context: context)
            facts.append(("note", "beyond the shared passes: \(reads) read(s) of \(check.targetCollection) and of \(check.collectionName)"))
        }
        facts.append(
            (
                "verification",
                "orphans are certain (no target value has their hash); a reference whose keyed hash (SipHash, random key per audit) "
                    + "a target value shares is taken as resolved: an orphan is missed with probability at most orphan values x target values / 2^64"
            ))
        return try check.output(
            referencingDocuments: referencingDocuments, referencedValues: orphans.values + resolved, orphans: orphans, facts: facts,
            severity: severity, scan: scan, context: context)
    }

    /// Resolves the pending references: one read of the target marks the pending hashes it holds, one read
    /// of the source counts the orphans among them. Beyond the pending range, one range of the target's
    /// hashes at a time (as many as the budget holds), each with a read of the source. Returns the reads
    /// of each collection.
    private func resolvePending(resolved: inout Int, context: AuditContext) throws -> Int {
        pending.finish()
        var held = Bits(count: pending.count)
        try readTargetHashes(context: context) { hash in
            if let index = pending.index(of: hash) { held.insert(index) }
        }
        resolved += held.setCount
        try countOrphans(in: pending, context: context) { hash in
            pending.index(of: hash).map { held.contains($0) } ?? false
        }
        var reads = 1
        var next = pending.upper
        pending = .nothing
        while let lower = next {
            reads += 1
            var range = Fingerprints(from: lower, capacity: check.fingerprintCapacity, expected: check.fingerprintCapacity)
            try readTargetHashes(context: context) { range.add($0) }
            range.finish()
            var hits = Bits(count: range.count)
            try countOrphans(in: range, context: context) { hash in
                guard let index = range.index(of: hash) else { return false }
                hits.insert(index)
                return true
            }
            resolved += hits.setCount
            next = range.upper
        }
        return reads
    }

    private func readTargetHashes(context: AuditContext, _ body: (UInt64) -> Void) throws {
        try check.read(check.targetCollection, field: check.targetField, context: context) { reader in
            reader.forEachElement(0) { value, _ in body(reader.hash(value, key: key)) }
        }
    }

    /// Reads the source again for the references with hashes in `range` (those below it are settled),
    /// adding the ones `resolves` says nothing resolves to the orphans. A document counts in the read of its
    /// first orphan value.
    private func countOrphans(in range: Fingerprints, context: AuditContext, resolves: (UInt64) -> Bool) throws {
        try check.read(check.collectionName, field: check.field, context: context) { reader in
            var counted = false
            var orphan = false
            reader.forEachElement(0) { value, position in
                let hash = reader.hash(value, key: key)
                if hash < range.lower {
                    if orphans.contains(hash) { counted = true }
                    return
                }
                guard range.covers(hash), !resolves(hash) else { return }
                orphan = true
                orphans.add(hash, bytes: canonicalBytes(value)) { reader.value(0, position) }
            }
            if orphan && !counted { orphans.documents += 1 }
        }
    }
}

/// Keeps a sample's distinct reference values and which documents hold them, then resolves each value
/// exactly: by `$in` queries on the target's index, or by one read of the target.
final class KeepingAccumulator: DocumentAccumulator {
    let check: ReferencesCheck
    let slot: Int
    let byIndex: Bool
    /// Distinct values by canonical bytes: their number in `values`.
    @exclusivity(unchecked) var numbers: [[UInt8]: Int] = [:]
    @exclusivity(unchecked) var values: [(bytes: [UInt8], value: BSONValue, hash: UInt64)] = []
    /// The value numbers of each referencing document, one after another; `documentEnds` marks where each ends.
    @exclusivity(unchecked) var documentValues: [Int] = []
    @exclusivity(unchecked) var documentEnds: [Int] = []

    init(check: ReferencesCheck, slot: Int, byIndex: Bool) {
        self.check = check
        self.slot = slot
        self.byIndex = byIndex
    }

    func visit(_ document: DocumentView, fields: FieldReader) {
        let start = documentValues.count
        fields.forEachElement(slot) { value, position in
            let bytes = canonicalBytes(value)
            guard let number = numbers[bytes] ?? fields.value(slot, position).map({ add(bytes, $0, fields.hash(value, key: check.sampleKey)) })
            else { return }
            if !documentValues[start...].contains(number) { documentValues.append(number) }
        }
        if documentValues.count > start { documentEnds.append(documentValues.count) }
    }

    private func add(_ bytes: [UInt8], _ value: BSONValue, _ hash: UInt64) -> Int {
        numbers[bytes] = values.count
        values.append((bytes, value, hash))
        return values.count - 1
    }

    func merge(_ other: any DocumentAccumulator) {
        let other = mergeable(other)
        let renumbered = other.values.map { numbers[$0.bytes] ?? add($0.bytes, $0.value, $0.hash) }
        var start = 0
        for end in other.documentEnds {
            documentValues += other.documentValues[start..<end].map { renumbered[$0] }
            documentEnds.append(documentValues.count)
            start = end
        }
    }

    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
        var found = [Bool](repeating: false, count: values.count)
        let method: String
        if byIndex {
            method = "the sample's values looked up with $in queries on an index of \(check.targetCollection).\(check.targetField)"
            try lookUp(&found, context: context)
        } else {
            method = "the sample's values compared with one read of \(check.targetCollection)"
            // Hashes first: only a target value whose hash a kept value has is compared byte for byte.
            let hashes = Set(values.map(\.hash))
            try check.read(check.targetCollection, field: check.targetField, context: context) { reader in
                reader.forEachElement(0) { value, _ in
                    guard hashes.contains(reader.hash(value, key: check.sampleKey)), let number = numbers[canonicalBytes(value)] else { return }
                    found[number] = true
                }
            }
        }
        var orphans = Orphans()
        var start = 0
        for end in documentEnds {
            var orphan = false
            for number in documentValues[start..<end] where !found[number] {
                orphan = true
                orphans.add(values[number].hash, bytes: values[number].bytes) { values[number].value }
            }
            if orphan { orphans.documents += 1 }
            start = end
        }
        return try check.output(
            referencingDocuments: documentEnds.count, referencedValues: values.count, orphans: orphans, facts: [("method", method)],
            severity: severity, scan: scan, context: context)
    }

    /// Marks the values the target holds, from the documents `{targetField: {$in: batch}}` returns (regular
    /// expressions by `$eq`, since `$in` would match strings with them), comparing the values exactly.
    private func lookUp(_ found: inout [Bool], context: AuditContext) throws {
        let batchSize = 1_000
        for start in stride(from: 0, to: values.count, by: batchSize) {
            let batch = values[start..<min(start + batchSize, values.count)].map(\.value)
            let regexes = batch.filter { $0.type == .regex }
            let others = batch.filter { $0.type != .regex }
            var clauses: [BSONValue] = []
            if !others.isEmpty { clauses.append([check.targetField: ["$in": .array(others)]]) }
            for regex in regexes { clauses.append([check.targetField: ["$eq": regex]]) }
            try check.read(check.targetCollection, field: check.targetField, filter: ["$or": .array(clauses)], context: context) { reader in
                reader.forEachElement(0) { value, _ in
                    if let number = numbers[canonicalBytes(value)] { found[number] = true }
                }
            }
        }
    }
}

extension ReferencesCheck {
    /// A field named after another collection plus one of its fields, whose values are found there.
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection else { return [] }
        let name = collection.collection
        let handle = input.database.collection(name)
        var entries: [StarterEntry] = []
        var failing: [StarterEntry] = []
        for field in collection.topLevel where field.path != "_id" && StarterInput.isPlainPath(field.path) {
            for target in input.profile.collections where target.collection != name {
                guard let toField = referencedField(field.path, target: target) else { continue }
                guard try overlaps(handle, field: field.path, target: input.database.collection(target.collection), toField: toField, input: input)
                else { continue }
                var entry = StarterEntry(
                    comments: ["from the names, and every value is found"],
                    [("collection", .text(name)), ("field", .text(field.path)), ("to_collection", .text(target.collection)), ("to_field", .text(toField))])
                if try input.passes(self, entry) {
                    entries.append(entry)
                } else {
                    entry.comments = [
                        "Suggested, but fails on this database today (named after \(target.collection).\(toField) and values are found there, but not all of them): fix the data, then uncomment."
                    ]
                    entry.suggested = true
                    failing.append(entry)
                }
            }
        }
        return entries + failing
    }

    /// `recording_uuid` / `recordingUuid` → `uuid` when the target is `recording` or `recordings` and has `uuid`;
    /// `recording_id` → `_id`.
    static func referencedField(_ field: String, target: CollectionProfile) -> String? {
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
    static func overlaps(_ source: MongoCollection, field: String, target: MongoCollection, toField: String, input: StarterInput) throws -> Bool {
        var values: [BSONValue] = []
        try source.find(
            [field: ["$exists": true, "$ne": .null]],
            options: FindOptions(
                projection: CollectionScan.projection(ofField: field, keepingID: false), limit: input.spec.referenceSampleSize, maxTimeMS: input.spec.timeLimit)
        ) { cursor in
            while let document = try cursor.next() {
                if let value = document[field], !values.contains(value) { values.append(value) }
            }
        }
        guard !values.isEmpty else { return false }
        let found = try target.countDocuments([toField: ["$in": .array(values)]], maxTimeMS: input.spec.timeLimit)
        return found > 0 && found >= values.count
    }
}
