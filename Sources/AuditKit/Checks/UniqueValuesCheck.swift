import Foundation
import MongoKit
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
                        guard counts[hash] != nil || candidates[hash] != nil || crossSightings[hash] != nil
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
                verification = "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves in a last pass over merged parts"
            } else if firstSightingsKept {
                verification = "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves, first sightings read back by _id"
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
                absent.append(check.finding(
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
                fix: "list them: \(context.shellCollection(check.collectionName)).aggregate([{$group: {_id: \(Escape.mongoshString("$" + field)), ids: {$push: \"$_id\"}, n: {$sum: 1}}}, {$match: {n: {$gt: 1}}}], {allowDiskUse: true})",
                metrics: metrics, examples: found.prefix(5).map(\.value), facts: facts)
            return CheckOutput(findings: absent + [finding], metrics: metrics)
        }
    }
}

/// The hashes a pass has seen: exactly while a table of them fits in its memory budget, then as a Bloom
/// filter (whose "seen" may be a false positive, so its repeats need verifying).
struct SeenHashes {
    private var table: HashSet?
    private var filter: BloomFilter?
    private let exactBytes: Int

    /// `payloads`: whether the exact table keeps a 32-bit payload per hash (4 bytes more per slot).
    init(expectedItems: Int, exactBytes: Int, payloads: Bool = false) {
        self.exactBytes = exactBytes
        if HashSet.bytes(forItems: expectedItems) <= exactBytes {
            table = HashSet(expectedItems: expectedItems, payloadBits: payloads ? FirstSightings.payloadBits : 0)
        } else {
            filter = BloomFilter(expectedItems: expectedItems)
        }
    }

    var isExact: Bool { filter == nil }

    /// Frees a Bloom filter once nothing will ask it again (it then says it has seen nothing).
    mutating func release() {
        if filter != nil { filter = BloomFilter(expectedItems: 0) }
    }

    /// The hashes in the exact table (0 for a filter, which does not count them).
    var count: Int { table?.count ?? 0 }

    /// Whether the hash was (exactly, or with the filter probably) seen.
    func contains(_ hash: UInt64) -> Bool { table.map { $0.slot(of: hash) != nil } ?? filter!.contains(hash) }

    /// For merging: makes room in the exact table for `items` more hashes, within the budget; false (and no
    /// change) when the table is a filter or would outgrow the budget.
    mutating func reserveExact(adding items: Int) -> Bool {
        guard table != nil else { return false }
        let needed = table!.count + items + 1
        if Double(needed) < Double(table!.capacity) * HashSet.maxLoad { return true }
        guard HashSet.bytes(forItems: needed) <= exactBytes else { return false }
        table!.grow(toHold: needed)
        return true
    }

    /// For merging, after `reserveExact`: adds a hash known to be new, with its payload.
    mutating func insertFolded(_ hash: UInt64, payload: UInt32) {
        let slot = table!.insertReturningSlot(hash).slot
        table!.setPayload(slot, payload)
    }

    /// Each hash of the exact table with its payload.
    func forEachPayload(_ body: (UInt64, UInt32) -> Void) { table?.forEachPayload(body) }

    /// Starts loading the memory that inserting the hash will touch.
    func prefetch(_ hash: UInt64) {
        if let table { table.prefetch(hash) } else { filter?.prefetch(hash) }
    }

    /// Adds the hash; returns true when it was (exactly, or with the filter probably) seen before.
    mutating func insert(_ hash: UInt64) -> Bool { insert(hash, recording: false).present }

    /// Adds the hash; returns whether it was seen before and, for a new hash in the exact table when
    /// `recording`, the slot whose payload to set (valid until the next insert).
    mutating func insert(_ hash: UInt64, recording: Bool) -> (present: Bool, slot: Int?) {
        if filter != nil { return (filter!.insert(hash), nil) }
        let (present, slot) = table!.insertReturningSlot(hash)
        if !present && recording {
            // Set the payload before the table may grow (growing moves payloads with their hashes).
            return (false, growIfFull() ? table?.slot(of: hash) : slot)
        }
        _ = growIfFull()
        return (present, nil)
    }

    /// The payload stored with a hash of the exact table.
    func payload(of hash: UInt64) -> UInt32? { table?.slot(of: hash).map { table!.payload($0) } }

    mutating func setPayload(_ slot: Int, _ value: UInt32) { table?.setPayload(slot, value) }

    /// Grows the table (or hands over to a Bloom filter) when it is full; true when the slots moved.
    private mutating func growIfFull() -> Bool {
        guard table != nil, table!.isFull else { return false }
        // The collection outgrew its estimate: double the table within the budget, else hand every hash
        // over to a Bloom filter sized for four times as many (a fuller filter only adds candidates for
        // the query to weed out; it never misses a repeat).
        if HashSet.bytes(forItems: table!.count * 2) <= exactBytes {
            table!.grow()
        } else {
            var bloom = BloomFilter(expectedItems: table!.count * 4)
            table!.forEach { _ = bloom.insert($0) }
            table = nil
            filter = bloom
        }
        return true
    }
}

/// An open-addressing set of 64-bit hashes (linear probing, at most 70% full; 0 marks an empty slot). With
/// payloads, the low `payloadBits` of each slot hold a payload instead of hash bits (the hashes put in must
/// have those bits clear): no array beside the table.
struct HashSet {
    private var slots: [UInt64]
    /// The low bits of a slot that hold its payload (0: no payloads). All ones marks a payload not yet set.
    let payloadMask: UInt64
    private(set) var count = 0
    static let maxLoad = 0.7

    init(expectedItems: Int, payloadBits: Int = 0) {
        let capacity = Self.capacity(forItems: expectedItems)
        slots = Array(unsafeUninitializedCapacity: capacity) { buffer, count in
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            buffer.initialize(repeating: 0)
            count = capacity
        }
        payloadMask = payloadBits == 0 ? 0 : (1 << UInt64(payloadBits)) - 1
    }

    var capacity: Int { slots.count }

    /// What a hash is stored as: itself (0 as 1, since 0 marks an empty slot) or, with payloads, itself
    /// beside a payload that is never 0.
    @inline(__always) private func key(_ hash: UInt64) -> UInt64 { payloadMask == 0 && hash == 0 ? 1 : hash & ~payloadMask }

    func payload(_ slot: Int) -> UInt32 { UInt32(truncatingIfNeeded: slots[slot] & payloadMask) }
    mutating func setPayload(_ slot: Int, _ value: UInt32) { slots[slot] = (slots[slot] & ~payloadMask) | (UInt64(value) & payloadMask) }

    /// The slot holding a hash, if any.
    func slot(of hash: UInt64) -> Int? {
        let key = key(hash)
        let capacity = slots.count
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            if slot & ~payloadMask == key { return index }
            index += 1
            if index == capacity { index = 0 }
        }
    }

    static func capacity(forItems items: Int) -> Int { max(1024, Int(Double(items) / maxLoad) + 1) }
    static func bytes(forItems items: Int) -> Int { capacity(forItems: items) * MemoryLayout<UInt64>.size }

    var isFull: Bool { Double(count) >= Double(slots.count) * Self.maxLoad }

    /// The slot where the search for a hash starts.
    @inline(__always) private func home(_ key: UInt64) -> Int {
        // The high half of key x capacity spreads keys over the slots without a division.
        Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    /// Starts loading the slot where the search for the hash starts.
    func prefetch(_ hash: UInt64) {
        let index = home(key(hash))
        slots.withUnsafeBufferPointer { prefetchForWriting($0.baseAddress! + index) }
    }

    /// Adds the hash; returns true when it was there already.
    mutating func insert(_ hash: UInt64) -> Bool { insertReturningSlot(hash).present }

    /// Adds the hash; returns whether it was there already and its slot.
    mutating func insertReturningSlot(_ hash: UInt64) -> (present: Bool, slot: Int) { insertStored(key(hash) | payloadMask) }

    /// Adds a slot's stored form (key and payload) unless its key is there.
    @inline(__always)
    private mutating func insertStored(_ stored: UInt64) -> (present: Bool, slot: Int) {
        let key = stored & ~payloadMask
        let capacity = slots.count
        var index = home(key)
        let mask = payloadMask
        return slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let slot = slots[index]
                if slot == 0 {
                    slots[index] = stored
                    count += 1
                    return (false, index)
                }
                if slot & ~mask == key { return (true, index) }
                index += 1
                if index == capacity { index = 0 }
            }
        }
    }

    /// Each hash (with payloads: its bits above the payload's).
    func forEach(_ body: (UInt64) -> Void) {
        for slot in slots where slot != 0 { body(slot & ~payloadMask) }
    }

    func forEachPayload(_ body: (UInt64, UInt32) -> Void) {
        guard payloadMask != 0 else { return }
        for slot in slots where slot != 0 { body(slot & ~payloadMask, UInt32(truncatingIfNeeded: slot & payloadMask)) }
    }

    mutating func grow() { grow(toHold: count * 2) }

    mutating func grow(toHold items: Int) {
        var bigger = HashSet(expectedItems: items, payloadBits: payloadMask.nonzeroBitCount)
        for slot in slots where slot != 0 { _ = bigger.insertStored(slot) }
        self = bigger
    }
}

/// A split-block Bloom filter over 64-bit hashes (the layout Parquet and Impala use): each value sets one
/// bit in each of eight 32-bit words of one 32-byte block, so an insert touches one cache line. At 16 bits
/// per item its false-positive rate is about 0.1% to 0.2%.
struct BloomFilter {
    private var blocks: [SIMD8<UInt32>]
    private static let salts = SIMD8<UInt32>(
        0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31)

    init(expectedItems: Int) {
        // 16 bits per item, in 256-bit blocks.
        blocks = Array(repeating: SIMD8(repeating: 0), count: max(256, expectedItems / 16 + 1))
    }

    /// Starts loading the block of the hash.
    func prefetch(_ hash: UInt64) {
        let index = Int(truncatingIfNeeded: ((mix(hash) >> 32) &* UInt64(blocks.count)) >> 32)
        blocks.withUnsafeBufferPointer { prefetchForWriting($0.baseAddress! + index) }
    }

    /// Adds the hash; returns true when it was (probably) there already.
    mutating func insert(_ hash: UInt64) -> Bool {
        let mixed = mix(hash)
        // The high half of (high 32 bits x block count) picks a block without a division.
        let index = Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(blocks.count)) >> 32)
        let key = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: mixed)) &* Self.salts
        let bits = SIMD8<UInt32>(repeating: 1) &<< (key &>> 27)
        return blocks.withUnsafeMutableBufferPointer { blocks in
            let block = blocks[index]
            let present = (block & bits) == bits
            blocks[index] = block | bits
            return present
        }
    }

    /// Whether the hash was (probably) added.
    func contains(_ hash: UInt64) -> Bool {
        let mixed = mix(hash)
        let index = Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(blocks.count)) >> 32)
        let key = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: mixed)) &* Self.salts
        let bits = SIMD8<UInt32>(repeating: 1) &<< (key &>> 27)
        return (blocks[index] & bits) == bits
    }

    private func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The `_id`s of first sightings, each found by its number (plus one: the payload of its hash's slot in the
/// table, so a number needs `payloadBits` at most). ObjectIds, the usual `_id`, are kept in blocks of 16:
/// the first whole, each next one as the difference from the one before (its last 8 bytes as a number,
/// when its first 4 are the same and it is larger), which ObjectIds inserted in order keep to a byte or
/// two. Any other `_id` turns the store into entries of type, length and bytes with a 4-byte offset each.
/// Bounded (`byteLimit`); beyond it, or for an `_id` too long to keep, it overflows and unique_values
/// verifies its candidates with one query instead.
struct FirstSightings {
    private var bytes: [UInt8] = []
    /// ObjectIds: where each block of 16 starts in `bytes`. Other `_id`s: where each entry starts.
    private var starts: [UInt32] = []
    private var objectIDsOnly = true
    private var previous: (high: UInt32, low: UInt64) = (0, 0)
    private(set) var count = 0
    var storedBytes: Int { bytes.count + starts.count * 4 }
    /// True once an `_id` could not be kept (or from the start, when none are to be kept).
    private(set) var overflowed = false
    static let byteLimit = 24 << 20
    static let idLimit = 64
    static let payloadBits = 21
    static let blockSize = 16

    init(kept: Bool = true) { overflowed = !kept }

    /// Makes room for about `documents` ObjectIds, sequential ones in mind (about a byte and a half each).
    mutating func reserve(documents: Int) {
        guard !overflowed else { return }
        bytes.reserveCapacity(min(documents + documents / 2, Self.byteLimit))
        starts.reserveCapacity(min(documents / Self.blockSize + 1, Self.byteLimit / 4))
    }

    /// Keeps the current document's `_id` (slot 0 of the scan's reader); returns its payload (0: overflowed).
    mutating func append(_ fields: FieldReader) -> UInt32 {
        guard !overflowed, fields.valueCount(0) > 0 else {
            overflow()
            return 0
        }
        let raw = fields.raw(0, 0)
        return append(type: raw.type, raw.bytes)
    }

    /// Keeps an `_id` given as its BSON type and value bytes; returns its payload (0: overflowed).
    mutating func append(type: UInt8, _ value: UnsafeRawBufferPointer) -> UInt32 {
        // A date _id would not survive the round trip through a Swift Date exactly: query instead.
        guard !overflowed, type != 0x09, value.count <= Self.idLimit, count + 2 < 1 << Self.payloadBits,
            bytes.count + starts.count * 4 + value.count + 16 < Self.byteLimit
        else {
            overflow()
            return 0
        }
        if objectIDsOnly && (type != 0x07 || value.count != 12) { keepEveryType() }
        if objectIDsOnly {
            let high = UInt32(bigEndian: value.loadUnaligned(as: UInt32.self))
            let low = UInt64(bigEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
            if count % Self.blockSize == 0 {
                starts.append(UInt32(bytes.count))
                bytes.append(contentsOf: value)
            } else if high == previous.high && low > previous.low {
                appendVarint(low - previous.low)
            } else {
                bytes.append(0)
                bytes.append(contentsOf: value)
            }
            previous = (high, low)
        } else {
            starts.append(UInt32(bytes.count))
            bytes.append(type)
            bytes.append(UInt8(value.count))
            bytes.append(contentsOf: value)
        }
        count += 1
        return UInt32(count)
    }

    private mutating func overflow() {
        overflowed = true
        bytes = []
        starts = []
    }

    private mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// From ObjectIds in blocks to entries of any type, once an `_id` of another type comes.
    private mutating func keepEveryType() {
        let ids = (0..<count).compactMap { rawID(at: UInt32($0 + 1)) }
        objectIDsOnly = false
        bytes = []
        starts = []
        count = 0
        for id in ids { _ = id.bytes.withUnsafeBytes { append(type: id.type, $0) } }
    }

    /// Whether `other`'s `_id`s fit beside these within the limits.
    func canHold(_ other: FirstSightings) -> Bool {
        !overflowed && !other.overflowed && count + other.count + 2 < 1 << Self.payloadBits
            && bytes.count + other.bytes.count + (starts.count + other.count) * 4 + 13 * other.count / Self.blockSize < Self.byteLimit
    }

    /// The `_id` of a payload: its BSON type and value bytes.
    func rawID(at payload: UInt32) -> (type: UInt8, bytes: [UInt8])? {
        let number = Int(payload) - 1
        guard !overflowed, number >= 0, number < count else { return nil }
        if !objectIDsOnly {
            let start = Int(starts[number])
            guard start + 2 <= bytes.count, start + 2 + Int(bytes[start + 1]) <= bytes.count else { return nil }
            return (bytes[start], Array(bytes[(start + 2)..<(start + 2 + Int(bytes[start + 1]))]))
        }
        var position = Int(starts[number / Self.blockSize])
        var id = Array(bytes[position..<(position + 12)])
        position += 12
        for _ in 0..<(number % Self.blockSize) {
            if bytes[position] == 0 {
                id = Array(bytes[(position + 1)..<(position + 13)])
                position += 13
                continue
            }
            var delta: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = bytes[position]
                position += 1
                delta |= UInt64(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            var low = id[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } &+ delta
            for index in stride(from: 11, through: 4, by: -1) {
                id[index] = UInt8(truncatingIfNeeded: low)
                low >>= 8
            }
        }
        return (0x07, id)
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
