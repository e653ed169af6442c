import Foundation
import MongoKit
import ScanKernel
import SpecSupport
import TextEscaping

/// Duplicates of a field that must be unique. It rides the shared pass and keeps each value's 64-bit hash,
/// never the values themselves. While the hashes fit in `exactTableBytes` (about 1.4 million values) they
/// go into a hash table and the pass alone gives exact counts. Beyond that they go into a Bloom filter
/// (2 bytes per document); values it has probably seen become candidates, and one server query on the
/// candidates gives exact counts. Either way it is fast without an index on the field, and its memory
/// stays bounded at any collection size.
public struct UniqueValuesCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "unique_values",
        name: "Unique values",
        summary: "Values of a field that appear in more than one document (missing and null values aside), "
            + "with the number of duplicated values, the documents beyond the first, and examples.",
        defaultSeverity: .high,
        needs: "find and aggregate on the collection (the read role); one shared pass plus one query",
        options: [Options.collection, Options.field],
        metrics: [
            .worseUp("duplicatedValues", .values), .worseUp("extraDocuments", .documents), .notCompared("documentsWithValues", .documents),
            .notCompared("valuesChecked", .values),
        ])

    enum Options {
        static let collection = TypedOption<String>.collection("the collection")
        static let field = TypedOption<String>.path("field", "the field whose values must be unique", required: true)
    }

    public static let examples = [
        CheckExample(
            "all uuids differ", setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "b"], ["x": 1], ["uuid": .null], ["uuid": .null]]]],
            entry: "collection: recordings\nfield: uuid"),
        CheckExample(
            "a uuid appears three times",
            setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "a"], ["uuid": "a"], ["uuid": "b"]]]],
            entry: "collection: recordings\nfield: uuid",
            expect: [ExpectedFinding("recordings/duplicate_values/uuid", .high, ["duplicatedValues": 1, "extraDocuments": 2])]),
    ]

    /// Beyond this many candidate values the check stops collecting them and says so.
    static let candidateLimit = 100_000
    /// The most memory the exact hash table may take; larger collections use the Bloom filter.
    var exactTableBytes = 16 << 20
    /// The key of the value hashes, random per check (so per run), shared by its accumulators so that they merge.
    let hashKey = SipHasher.randomKey()

    let collectionName: String
    let field: String
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { [field] }

    public init(collection: String, field: String) {
        collectionName = collection
        self.field = field
    }

    public init(options: SpecFields) throws {
        self.init(collection: try options.required(Options.collection), field: try options.required(Options.field))
    }

    public func readsBeyondItsPass(documents: Int) -> String? {
        guard HashSet.bytes(forItems: documents) > exactTableBytes else { return nil }
        return "unique_values: one query over \(field) for the Bloom filter's candidates after this pass (\(documents) documents "
            + "are beyond the \(exactTableBytes >> 20) MB exact table; a collection scan unless an index leads with \(field))"
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        // listIndexes failing only costs memory: the first sightings are kept as without an index.
        let indexed = (try? context.indexes(of: collectionName)).map { $0.contains(where: servesEquality) } ?? false
        return Accumulator(check: self, slot: fields.index(of: field)!, expectedDocuments: expectedDocuments, keepFirstSightings: !indexed)
    }

    /// Whether an index answers `{field: {$in: [values]}}` from its keys: an ordered, visible index whose
    /// first key is the field, over every document, with the simple collation.
    func servesEquality(_ index: IndexSpec) -> Bool {
        guard let first = index.keys.first, first.field == field, first.kind == "1" || first.kind == "-1" else { return false }
        return !index.hidden && !index.sparse && index.partialFilterExpression == nil && index.collation == nil
    }

    /// Values are looked at as a multikey unique index does: each distinct value a document holds on the
    /// path (an array's elements, not the array) counts once for that document; a document repeating a
    /// value in its array is no duplicate. Missing, null, undefined and empty arrays are left aside (a
    /// non-sparse unique index would index them all as one null key). Hashes are SipHash with a random key
    /// per check (shared by the accumulators of one check, so that they merge), and only pick candidates:
    /// every reported figure is counted on the values themselves.
    final class Accumulator: PrefetchingAccumulator {
        /// A value seen again after its hash's first sighting, with the documents (after that first one)
        /// that hold it exactly.
        struct Candidate {
            let bytes: [UInt8]
            let value: BSONValue
            var documents: Int
        }
        /// An `_id` as canonical bytes (to compare) and as a value (to query).
        typealias ID = (bytes: [UInt8], value: BSONValue)
        let check: UniqueValuesCheck
        let slot: Int
        let key: (UInt64, UInt64)
        @exclusivity(unchecked) var seen: SeenHashes
        /// Values whose hash was seen before (a repeat, or a collision the count weeds out), by hash.
        @exclusivity(unchecked) var candidates: [UInt64: [Candidate]] = [:]
        @exclusivity(unchecked) var candidateCount = 0
        @exclusivity(unchecked) var candidatesTruncated = false
        @exclusivity(unchecked) var documentsWithValues = 0
        @exclusivity(unchecked) var valuesChecked = 0
        /// The `_id`s of the documents where each hash was first seen (canonical `_id` bytes, in `FirstSightings`):
        /// the only documents whose values the pass did not keep, read back by `_id` to verify the candidates.
        /// Not kept (overflowed from the start) when an index on the field serves the verification query
        /// instead, which saves about 20 bytes per distinct value.
        @exclusivity(unchecked) var firstSightings: FirstSightings
        /// The current document's distinct values: hash, position, and whether the hash was new in this document.
        @exclusivity(unchecked) var documentValues: [(hash: UInt64, position: Int, new: Bool)] = []
        /// From merged parts: the first sightings of hashes that another part had first seen too.
        var crossSightings: [UInt64: [ID]] = [:]
        /// From merged parts that could not be folded into `seen` with their first sightings (no `_id`s kept,
        /// or beyond the budgets): their hashes, kept whole. A value whose hash two parts have seen is then
        /// counted in a last pass over the field.
        var otherParts: [SeenHashes] = []

        init(check: UniqueValuesCheck, slot: Int, expectedDocuments: Int, keepFirstSightings: Bool = true) {
            self.check = check
            self.slot = slot
            key = check.hashKey
            seen = SeenHashes(expectedItems: expectedDocuments, exactBytes: check.exactTableBytes, payloads: keepFirstSightings)
            firstSightings = FirstSightings(kept: seen.isExact && keepFirstSightings)
            // Reserve once rather than double (and copy) as it fills.
            firstSightings.reserve(documents: expectedDocuments)
        }

        /// Whether every first sighting's `_id` is at hand, to verify the candidates by reading those back.
        var firstSightingsKept: Bool { seen.isExact && !firstSightings.overflowed }

        func visit(_ document: DocumentView, fields: FieldReader) {
            let count = fields.valueCount(slot)
            if count == 0 { return }
            if count == 1 {
                let value = fields.raw(slot, 0)
                guard value.type != 0x0A, value.type != 0x06, value.type != 0x04 else { return }
                documentsWithValues += 1
                valuesChecked += 1
                let hash = prefetchedLoad == fields.loadNumber ? prefetchedHash : hash(value, fields)
                _ = add(hash, fields, 0)
                return
            }
            documentValues.removeAll(keepingCapacity: true)
            fields.forEachElement(slot) { value, position in
                let hash = self.hash(value, fields)
                var newInThisDocument = false
                for earlier in documentValues where earlier.hash == hash {
                    // The same value again in this document counts once; another value with the same hash
                    // (a collision) is left to the first sighting's verification when the hash is new here.
                    if earlier.new || fields.raw(slot, earlier.position).equals(value) { return }
                    newInThisDocument = earlier.new
                }
                let new = add(hash, fields, position)
                documentValues.append((hash, position, new || newInThisDocument))
            }
            if !documentValues.isEmpty { documentsWithValues += 1 }
            valuesChecked += documentValues.count
        }

        /// The single value's hash of the document `prefetch` saw (`prefetchedLoad`, the reader's load number).
        @exclusivity(unchecked) private var prefetchedHash: UInt64 = 0
        @exclusivity(unchecked) private var prefetchedLoad = -1

        /// Hashes a single value ahead and starts loading its table slot: the table is far larger than the
        /// caches, so nearly every insert otherwise waits for memory.
        func prefetch(fields: FieldReader) {
            guard fields.valueCount(slot) == 1 else { return }
            let value = fields.raw(slot, 0)
            guard value.type != 0x0A, value.type != 0x06, value.type != 0x04 else { return }
            prefetchedHash = hash(value, fields)
            prefetchedLoad = fields.loadNumber
            seen.prefetch(prefetchedHash)
        }

        /// A value's keyed hash, its low bits clear: with first sightings kept, those bits of a table slot
        /// hold the first sighting's number (all accumulators of a check clear them, so that they merge).
        @inline(__always)
        func hash(_ value: RawBSONValue, _ reader: FieldReader) -> UInt64 {
            reader.hash(value, key: key) & ~((1 << UInt64(FirstSightings.payloadBits)) - 1)
        }

        /// Counts a value of the current document; returns true when its hash is new (a first sighting).
        @inline(__always)
        private func add(_ hash: UInt64, _ fields: FieldReader, _ position: Int) -> Bool {
            let (present, slotIndex) = seen.insert(hash, recording: !firstSightings.overflowed)
            guard present else {
                if let slotIndex { seen.setPayload(slotIndex, firstSightings.append(fields)) }
                return true
            }
            let bytes = canonicalBytes(fields.raw(slot, position))
            if let index = candidates[hash]?.firstIndex(where: { $0.bytes == bytes }) {
                candidates[hash]![index].documents += 1
                return false
            }
            guard let value = fields.value(slot, position) else { return false }
            addCandidate(hash, Candidate(bytes: bytes, value: value, documents: 1))
            return false
        }

        private func addCandidate(_ hash: UInt64, _ candidate: Candidate) {
            guard candidateCount < UniqueValuesCheck.candidateLimit else {
                candidatesTruncated = true
                return
            }
            candidates[hash, default: []].append(candidate)
            candidateCount += 1
        }

        /// Folds in another part's figures. Its first sightings join this part's when both kept theirs and the
        /// budgets allow (a hash both parts had first seen keeps the other's `_id` as a cross sighting, read
        /// back like the first ones); otherwise its hashes are kept whole for a last pass over the field.
        func merge(_ other: any DocumentAccumulator) {
            let other = mergeable(other)
            precondition(other.key == key && other.check.field == check.field, "merge: accumulators of different unique_values checks")
            documentsWithValues += other.documentsWithValues
            valuesChecked += other.valuesChecked
            candidatesTruncated = candidatesTruncated || other.candidatesTruncated
            for (hash, theirs) in other.candidates {
                for candidate in theirs {
                    if let index = candidates[hash]?.firstIndex(where: { $0.bytes == candidate.bytes }) {
                        candidates[hash]![index].documents += candidate.documents
                    } else {
                        addCandidate(hash, candidate)
                    }
                }
            }
            for (hash, ids) in other.crossSightings { crossSightings[hash, default: []] += ids }
            otherParts += other.otherParts
            let theirs = other.firstSightings
            if otherParts.isEmpty, firstSightingsKept, other.firstSightingsKept, firstSightings.canHold(theirs),
                seen.reserveExact(adding: other.seen.count)
            {
                other.seen.forEachPayload { hash, payload in
                    if seen.contains(hash) {
                        if let id = theirs.id(at: payload) { crossSightings[hash, default: []].append(id) }
                    } else if let id = theirs.rawID(at: payload) {
                        seen.insertFolded(hash, payload: id.bytes.withUnsafeBytes { firstSightings.append(type: id.type, $0) })
                    }
                }
            } else {
                otherParts.append(other.seen)
            }
        }

        /// Duplicated values with their document counts, most frequent first, counted on the values.
        func duplicates(context: AuditContext) throws -> [(value: BSONValue, count: Int)] {
            let collection = context.database.collection(check.collectionName)
            let found: [Candidate]
            if !otherParts.isEmpty {
                found = try countInLastPass(collection: collection, context: context)
            } else if firstSightingsKept {
                found = try countWithFirstSightings(collection: collection, context: context)
            } else {
                // The filter has done its work: let it go before the query (a second scan, at the largest collections).
                seen.release()
                let all = candidates.values.flatMap { $0 }
                let counted = try countDocumentsHolding(all.map(\.value), path: check.field, in: collection, context: context)
                found = all.map { Candidate(bytes: $0.bytes, value: $0.value, documents: counted[$0.bytes] ?? 0) }
            }
            // Most frequent first; equal counts in the values' canonical order, so that examples do not
            // depend on the order documents came in.
            return found.filter { $0.documents > 1 }
                .sorted { $0.documents != $1.documents ? $0.documents > $1.documents : $0.bytes.lexicographicallyPrecedes($1.bytes) }
                .map { ($0.value, $0.documents) }
        }

        /// The pass's candidates plus the first-sighting documents (and cross sightings) of their hashes, read
        /// back by `_id`: each value such a document holds under one of those hashes counts once for it.
        private func countWithFirstSightings(collection: MongoCollection, context: AuditContext) throws -> [Candidate] {
            // Which documents to read, and under which hashes each one counts.
            var byID: [[UInt8]: (id: BSONValue, hashes: [UInt64])] = [:]
            for hash in Set(candidates.keys).union(crossSightings.keys) {
                var ids = crossSightings[hash] ?? []
                if let payload = seen.payload(of: hash), let id = firstSightings.id(at: payload) { ids.append(id) }
                for id in ids { byID[id.bytes, default: (id.value, [])].hashes.append(hash) }
            }
            var counts = candidates
            let reader = FieldReader(paths: [check.field])
            let ids = byID.values.map(\.id)
            let projection = CollectionScan.projection(ofField: check.field, keepingID: true)
            for start in stride(from: 0, to: ids.count, by: 10_000) {
                let chunk = Array(ids[start..<min(start + 10_000, ids.count)])
                try collection.find(
                    ["_id": ["$in": .array(chunk)]],
                    options: FindOptions(projection: projection, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
                ) { cursor in
                    try cursor.forEachView { view in
                        guard let id = view.value(at: "_id"), let entry = byID[canonicalBytes(id)] else { return }
                        reader.load(view)
                        var held = Set<[UInt8]>()
                        reader.forEachElement(0) { value, position in
                            let hash = self.hash(value, reader)
                            guard entry.hashes.contains(hash) else { return }
                            let bytes = canonicalBytes(value)
                            guard held.insert(bytes).inserted else { return }
                            if let index = counts[hash]?.firstIndex(where: { $0.bytes == bytes }) {
                                counts[hash]![index].documents += 1
                            } else if let value = reader.value(0, position) {
                                // A value first seen in two merged parts: no pass held it twice.
                                counts[hash, default: []].append(Candidate(bytes: bytes, value: value, documents: 1))
                            }
                        }
                    }
                }
            }
            return counts.values.flatMap { $0 }
        }

        /// For merged parts whose hashes could not be folded: one pass over the field counts every value
        /// that is a candidate or whose hash two parts have seen (probably, for a Bloom filter).
        private func countInLastPass(collection: MongoCollection, context: AuditContext) throws -> [Candidate] {
            let parts = [seen] + otherParts
            var counts: [UInt64: [Candidate]] = [:]
            var counted = 0
            let reader = FieldReader(paths: [check.field])
            let projection = CollectionScan.projection(ofField: check.field, keepingID: false)
            try collection.find(
                [check.field: ["$exists": true]],
                options: FindOptions(
                    projection: projection, batchSize: CollectionScan.batchSize, maxTimeMS: context.maxTimeMS,
                    readPreference: context.readPreference)
            ) { cursor in
                try cursor.forEachView { view in
                    reader.load(view)
                    var held = Set<[UInt8]>()
                    reader.forEachElement(0) { value, position in
                        let hash = self.hash(value, reader)
                        // Every value under such a hash is counted: a collision only adds a value held once.
                        guard
                            counts[hash] != nil || candidates[hash] != nil || crossSightings[hash] != nil
                                || parts.lazy.filter({ $0.contains(hash) }).prefix(2).count == 2
                        else { return }
                        let bytes = canonicalBytes(value)
                        guard held.insert(bytes).inserted else { return }
                        if let index = counts[hash]?.firstIndex(where: { $0.bytes == bytes }) {
                            counts[hash]![index].documents += 1
                            return
                        }
                        guard counted < UniqueValuesCheck.candidateLimit else {
                            candidatesTruncated = true
                            return
                        }
                        guard let value = reader.value(0, position) else { return }
                        counts[hash, default: []].append(Candidate(bytes: bytes, value: value, documents: 1))
                        counted += 1
                    }
                }
            }
            return counts.values.flatMap { $0 }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let method = seen.isExact ? "hash table" : "Bloom filter and a query"
            let verification: String
            if !otherParts.isEmpty {
                verification =
                    "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves in a last pass over merged parts"
            } else if firstSightingsKept {
                verification =
                    "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves, first sightings read back by _id"
            } else {
                verification = "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves by one query"
            }
            let needsCounting = !candidates.isEmpty || !crossSightings.isEmpty || !otherParts.isEmpty
            let found = needsCounting ? try duplicates(context: context) : []
            let duplicatedValues = found.count
            let extraDocuments = found.reduce(0) { $0 + $1.count - 1 }
            let metrics: Metrics = [
                "duplicatedValues": .count(duplicatedValues), "extraDocuments": scan.proportion(extraDocuments),
                "documentsWithValues": .count(documentsWithValues), "valuesChecked": .count(valuesChecked),
            ]
            var absent = try check.collectionFindings(check.collectionName, documents: scan.scanned, severity: severity, context: context)
            if absent.isEmpty && documentsWithValues == 0 {
                absent.append(
                    check.finding(
                        "no_values", subject: check.field, severity: severity,
                        title: "no document holds a value of '\(check.field)' (\(scan.scanned) documents): nothing was compared",
                        impact: "A uniqueness check over no value passes whatever the data; the field may be misspelled or absent.",
                        metrics: metrics))
            }
            guard duplicatedValues > 0 else { return CheckOutput(findings: absent, metrics: metrics) }
            let field = check.field
            let sampleNote = scan.sampled ? " in a sample of \(scan.scanned)" : ""
            var facts: [(name: String, text: String)] = [
                ("method", method),
                ("verification", verification),
            ]
            if candidatesTruncated {
                facts.append(("note", "more than \(UniqueValuesCheck.candidateLimit) repeated values; counts cover the first ones"))
            }
            let finding = check.finding(
                "duplicate_values", subject: field, severity: severity,
                title: "\(duplicatedValues) value(s) of '\(field)' are shared by more than one document (\(extraDocuments) extra document(s))\(sampleNote)",
                impact: "Lookups by \(field) return several documents where code expects one, and a unique index on "
                    + "\(field) cannot be built until the duplicates are resolved.",
                fix:
                    "list them: \(context.shellCollection(check.collectionName)).aggregate([{$group: {_id: \(Escape.mongoshString("$" + field)), ids: {$push: \"$_id\"}, n: {$sum: 1}}}, {$match: {n: {$gt: 1}}}], {allowDiskUse: true})",
                metrics: metrics, examples: found.prefix(5).map(\.value), facts: facts)
            return CheckOutput(findings: absent + [finding], metrics: metrics)
        }
    }
}

/// What first sightings read from the scan and the server (the store itself is in ScanKernel).
extension FirstSightings {
    /// Keeps the current document's `_id` (slot 0 of the scan's reader); returns its payload (0: overflowed).
    mutating func append(_ fields: FieldReader) -> UInt32 {
        guard !overflowed, fields.valueCount(0) > 0 else {
            overflow()
            return 0
        }
        let raw = fields.raw(0, 0)
        return append(type: raw.type, raw.bytes)
    }

    /// The `_id` of a payload: its canonical bytes and its value.
    func id(at payload: UInt32) -> (bytes: [UInt8], value: BSONValue)? {
        guard let (type, value) = rawID(at: payload) else { return nil }
        return value.withUnsafeBytes { buffer -> (bytes: [UInt8], value: BSONValue)? in
            let raw = RawBSONValue(type: type, bytes: buffer)
            // A one-field document holding the value, read back as a Swift value.
            var document: [UInt8] = [0, 0, 0, 0, type, 0x5F, 0x69, 0x64, 0]
            document.append(contentsOf: buffer)
            document.append(0)
            let total = Int32(document.count)
            withUnsafeBytes(of: total.littleEndian) { for (index, byte) in $0.enumerated() { document[index] = byte } }
            guard let value = (try? Document(bytes: document))?["_id"] else { return nil }
            return (canonicalBytes(raw), value)
        }
    }
}

extension UniqueValuesCheck {
    /// Fields of unique single-field indexes, and values that look unique and prove so (those that repeat
    /// today are suggested, commented out).
    public static func starterEntries(_ input: StarterInput) throws -> [StarterEntry] {
        guard let collection = input.collection else { return [] }
        func entry(_ field: String, _ why: String, suggested: Bool = false) -> StarterEntry {
            StarterEntry(comments: [why], [("collection", .text(collection.collection)), ("field", .text(field))], suggested: suggested)
        }
        var entries: [StarterEntry] = []
        var failing: [StarterEntry] = []
        let uniqueIndexes = input.indexes.filter { $0.unique && $0.keys.count == 1 && $0.partialFilterExpression == nil }
        for index in uniqueIndexes where StarterInput.survivesLoading(index.keys[0].field) {
            entries.append(entry(index.keys[0].field, "unique index \(index.name)"))
        }
        let indexed = Set(uniqueIndexes.map { $0.keys[0].field })
        for field in collection.paths
        where !field.underArray && field.path != "_id" && StarterInput.isPlainPath(field.path) && !indexed.contains(field.path) {
            let nonNull = field.present - field.null
            guard nonNull >= 2, Set(field.nonNullTypes).isSubset(of: ["string", "objectId"]), !field.nonNullTypes.isEmpty,
                Double(field.distinctEstimate) >= Double(nonNull) * (1 - 2 * HyperLogLog.standardError)
            else { continue }
            let candidate = entry(field.path, "no index: about \(field.distinctEstimate) distinct of \(nonNull) values, no duplicate found")
            if try input.passes(self, candidate) {
                entries.append(candidate)
            } else {
                failing.append(
                    entry(
                        field.path,
                        "Suggested, but fails on this database today (about \(field.distinctEstimate) distinct of \(nonNull) values, but some repeat): fix the data, then uncomment.",
                        suggested: true))
            }
        }
        return entries + failing
    }
}
