import Foundation
import MongoKit
import SpecSupport

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
        options: [Options.collection, Options.field])

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

    public func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Accumulator(check: self, slot: fields.index(of: field)!, expectedDocuments: expectedDocuments)
    }

    /// Values are looked at as a multikey unique index does: each distinct value a document holds on the
    /// path (an array's elements, not the array) counts once for that document; a document repeating a
    /// value in its array is no duplicate. Missing, null, undefined and empty arrays are left aside (a
    /// non-sparse unique index would index them all as one null key). Hashes are SipHash with a random key
    /// per run, and only pick candidates: every reported figure is counted on the values themselves.
    final class Accumulator: DocumentAccumulator {
        /// A value seen again after its hash's first sighting, with the documents (after that first one)
        /// that hold it exactly.
        struct Candidate {
            let bytes: [UInt8]
            let value: BSONValue
            var documents: Int
        }
        let check: UniqueValuesCheck
        let slot: Int
        let key = SipHasher.randomKey()
        @exclusivity(unchecked) var seen: SeenHashes
        /// Values whose hash was seen before (a repeat, or a collision the count weeds out), by hash.
        @exclusivity(unchecked) var candidates: [UInt64: [Candidate]] = [:]
        @exclusivity(unchecked) var candidateCount = 0
        @exclusivity(unchecked) var candidatesTruncated = false
        @exclusivity(unchecked) var documentsWithValues = 0
        @exclusivity(unchecked) var valuesChecked = 0
        /// The `_id`s of the documents where each hash was first seen (canonical `_id` bytes, in `FirstSightings`):
        /// the only documents whose values the pass did not keep, read back by `_id` to verify the candidates.
        @exclusivity(unchecked) var firstSightings = FirstSightings()
        /// The current document's distinct values: hash, position, and whether the hash was new in this document.
        @exclusivity(unchecked) var documentValues: [(hash: UInt64, position: Int, new: Bool)] = []

        init(check: UniqueValuesCheck, slot: Int, expectedDocuments: Int) {
            self.check = check
            self.slot = slot
            seen = SeenHashes(expectedItems: expectedDocuments, exactBytes: check.exactTableBytes)
            // ObjectIds take 14 bytes each: reserve once rather than double (and copy) as it fills.
            if seen.isExact { firstSightings.reserve(expectedDocuments * 14) }
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            let count = fields.valueCount(slot)
            if count == 0 { return }
            if count == 1 {
                let value = fields.raw(slot, 0)
                guard value.type != 0x0A, value.type != 0x06, value.type != 0x04 else { return }
                documentsWithValues += 1
                valuesChecked += 1
                _ = add(fields.hash(value, key: key), fields, 0)
                return
            }
            documentValues.removeAll(keepingCapacity: true)
            fields.forEachElement(slot) { value, position in
                let hash = fields.hash(value, key: key)
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
            guard candidateCount < UniqueValuesCheck.candidateLimit else {
                candidatesTruncated = true
                return false
            }
            guard let value = fields.value(slot, position) else { return false }
            candidates[hash, default: []].append(Candidate(bytes: bytes, value: value, documents: 1))
            candidateCount += 1
            return false
        }

        /// Duplicated values with their document counts, most frequent first, counted on the values: from
        /// the pass plus the first-sighting documents read back by `_id` when every first sighting was kept,
        /// otherwise (Bloom filter, too many or too long `_id`s) by one query reading back every document
        /// holding a candidate.
        func duplicates(context: AuditContext) throws -> [(value: BSONValue, count: Int)] {
            let all = candidates.values.flatMap { $0 }
            let collection = context.database.collection(check.collectionName)
            if seen.isExact && !firstSightings.overflowed {
                // The first sighting of each candidate's hash: which _id, and which candidates it may hold.
                var byID: [[UInt8]: (id: BSONValue, hashes: [UInt64])] = [:]
                for hash in candidates.keys {
                    guard let offset = seen.payload(of: hash), let id = firstSightings.id(at: offset) else { continue }
                    byID[id.bytes, default: (id.value, [])].hashes.append(hash)
                }
                var counts = candidates
                let reader = FieldReader(paths: [check.field])
                let ids = byID.values.map(\.id)
                for start in stride(from: 0, to: ids.count, by: 10_000) {
                    let chunk = Array(ids[start..<min(start + 10_000, ids.count)])
                    let projection = Document([("_id", BSONValue.int32(1)), (CollectionScan.projectionPath(check.field), .int32(1))])
                    try collection.find(
                        ["_id": ["$in": .array(chunk)]],
                        options: FindOptions(projection: projection, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
                    ) { cursor in
                        try cursor.forEachView { view in
                            guard let id = view.value(at: "_id"), let entry = byID[canonicalBytes(id)] else { return }
                            reader.load(view)
                            var held = Set<[UInt8]>()
                            reader.forEachElement(0) { value, _ in held.insert(canonicalBytes(value)) }
                            for hash in entry.hashes {
                                for index in counts[hash]!.indices where held.contains(counts[hash]![index].bytes) {
                                    counts[hash]![index].documents += 1
                                }
                            }
                        }
                    }
                }
                return counts.values.flatMap { $0 }.filter { $0.documents > 1 }.map { ($0.value, $0.documents) }.sorted { $0.count > $1.count }
            }
            let counted = try countDocumentsHolding(all.map(\.value), path: check.field, in: collection, context: context)
            return all.compactMap { candidate in
                let count = counted[candidate.bytes] ?? 0
                return count > 1 ? (candidate.value, count) : nil
            }.sorted { $0.count > $1.count }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let method = seen.isExact ? "hash table" : "Bloom filter and a query"
            let verification = seen.isExact && !firstSightings.overflowed
                ? "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves, first sightings read back by _id"
                : "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves by one query"
            let found = candidates.isEmpty ? [] : try duplicates(context: context)
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
                fix: "list them: db.getSiblingDB(\"\(context.database.name)\").\(check.collectionName).aggregate([{$group: {_id: \"$\(field)\", ids: {$push: \"$_id\"}, n: {$sum: 1}}}, {$match: {n: {$gt: 1}}}], {allowDiskUse: true})",
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

    init(expectedItems: Int, exactBytes: Int) {
        self.exactBytes = exactBytes
        if HashSet.bytes(forItems: expectedItems) <= exactBytes {
            table = HashSet(expectedItems: expectedItems)
        } else {
            filter = BloomFilter(expectedItems: expectedItems)
        }
    }

    var isExact: Bool { filter == nil }

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

/// An open-addressing set of 64-bit hashes (linear probing, at most 70% full; 0 marks an empty slot).
struct HashSet {
    private var slots: [UInt64]
    /// A 32-bit payload per slot (the first sighting's `_id`, for unique_values).
    private var payloads: [UInt32]
    private(set) var count = 0
    static let maxLoad = 0.7

    init(expectedItems: Int) {
        slots = Array(repeating: 0, count: Self.capacity(forItems: expectedItems))
        payloads = Array(repeating: 0, count: slots.count)
    }

    func payload(_ slot: Int) -> UInt32 { payloads[slot] }
    mutating func setPayload(_ slot: Int, _ value: UInt32) { payloads[slot] = value }

    /// The slot holding a hash, if any.
    func slot(of hash: UInt64) -> Int? {
        let key = hash == 0 ? 1 : hash
        let capacity = slots.count
        var index = Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(capacity)).high)
        while true {
            let slot = slots[index]
            if slot == key { return index }
            if slot == 0 { return nil }
            index += 1
            if index == capacity { index = 0 }
        }
    }

    static func capacity(forItems items: Int) -> Int { max(1024, Int(Double(items) / maxLoad) + 1) }
    static func bytes(forItems items: Int) -> Int { capacity(forItems: items) * MemoryLayout<UInt64>.size }

    var isFull: Bool { Double(count) >= Double(slots.count) * Self.maxLoad }

    /// Adds the hash; returns true when it was there already.
    mutating func insert(_ hash: UInt64) -> Bool { insertReturningSlot(hash).present }

    /// Adds the hash; returns whether it was there already and its slot.
    mutating func insertReturningSlot(_ hash: UInt64) -> (present: Bool, slot: Int) {
        let key = hash == 0 ? 1 : hash
        let capacity = slots.count
        // The high half of key x capacity spreads keys over the slots without a division.
        var index = Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(capacity)).high)
        return slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let slot = slots[index]
                if slot == key { return (true, index) }
                if slot == 0 {
                    slots[index] = key
                    count += 1
                    return (false, index)
                }
                index += 1
                if index == capacity { index = 0 }
            }
        }
    }

    func forEach(_ body: (UInt64) -> Void) {
        for slot in slots where slot != 0 { body(slot) }
    }

    mutating func grow() {
        var bigger = HashSet(expectedItems: count * 2)
        for index in slots.indices where slots[index] != 0 {
            let moved = bigger.insertReturningSlot(slots[index]).slot
            bigger.payloads[moved] = payloads[index]
        }
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

    private func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The canonical bytes of the `_id`s of first sightings, one after another, each found by its offset:
/// bounded (`byteLimit`); beyond it, or for an `_id` too long to keep, it overflows and unique_values
/// verifies its candidates with one query instead.
struct FirstSightings {
    private var bytes: [UInt8] = []
    private(set) var overflowed = false
    static let byteLimit = 24 << 20
    static let idLimit = 64

    mutating func reserve(_ bytes: Int) { self.bytes.reserveCapacity(min(bytes, Self.byteLimit)) }

    /// Keeps the current document's `_id` (slot 0 of the scan's reader); returns its offset.
    mutating func append(_ fields: FieldReader) -> UInt32 {
        guard !overflowed, fields.valueCount(0) > 0 else {
            overflowed = true
            return 0
        }
        let raw = fields.raw(0, 0)
        // A date _id would not survive the round trip through a Swift Date exactly: query instead.
        guard raw.type != 0x09, raw.bytes.count <= Self.idLimit, bytes.count + raw.bytes.count + 2 < Self.byteLimit else {
            overflowed = true
            bytes = []
            return 0
        }
        let offset = UInt32(bytes.count)
        bytes.append(raw.type)
        bytes.append(UInt8(raw.bytes.count))
        bytes.append(contentsOf: raw.bytes)
        return offset
    }

    /// The `_id` at an offset: its canonical bytes and its value.
    func id(at offset: UInt32) -> (bytes: [UInt8], value: BSONValue)? {
        let start = Int(offset)
        guard !overflowed, start + 2 <= bytes.count else { return nil }
        let type = bytes[start]
        let length = Int(bytes[start + 1])
        guard start + 2 + length <= bytes.count else { return nil }
        return bytes[(start + 2)..<(start + 2 + length)].withUnsafeBytes { buffer -> (bytes: [UInt8], value: BSONValue)? in
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
