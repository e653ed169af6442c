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
        let check: UniqueValuesCheck
        let slot: Int
        let key = SipHasher.randomKey()
        @exclusivity(unchecked) var seen: SeenHashes
        /// Values whose hash was seen before (a repeat, or a collision the count will weed out), by hash.
        @exclusivity(unchecked) var candidates: [UInt64: [(bytes: [UInt8], value: BSONValue)]] = [:]
        @exclusivity(unchecked) var candidateCount = 0
        @exclusivity(unchecked) var candidatesTruncated = false
        @exclusivity(unchecked) var documentsWithValues = 0
        @exclusivity(unchecked) var valuesChecked = 0
        /// The current document's distinct hashes (reused).
        @exclusivity(unchecked) var documentHashes: [UInt64] = []

        init(check: UniqueValuesCheck, slot: Int, expectedDocuments: Int) {
            self.check = check
            self.slot = slot
            seen = SeenHashes(expectedItems: expectedDocuments, exactBytes: check.exactTableBytes)
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            let count = fields.valueCount(slot)
            if count == 0 { return }
            if count == 1 {
                let value = fields.raw(slot, 0)
                guard value.type != 0x0A, value.type != 0x06, value.type != 0x04 else { return }
                documentsWithValues += 1
                valuesChecked += 1
                add(fields.hash(value, key: key), fields, 0)
                return
            }
            documentHashes.removeAll(keepingCapacity: true)
            fields.forEachElement(slot) { value, position in
                let hash = fields.hash(value, key: key)
                guard !documentHashes.contains(hash) else { return }
                documentHashes.append(hash)
                add(hash, fields, position)
            }
            if !documentHashes.isEmpty { documentsWithValues += 1 }
            valuesChecked += documentHashes.count
        }

        @inline(__always)
        private func add(_ hash: UInt64, _ fields: FieldReader, _ position: Int) {
            guard seen.insert(hash) else { return }
            let bytes = canonicalBytes(fields.raw(slot, position))
            if let known = candidates[hash], known.contains(where: { $0.bytes == bytes }) { return }
            guard candidateCount < UniqueValuesCheck.candidateLimit else {
                candidatesTruncated = true
                return
            }
            guard let value = fields.value(slot, position) else { return }
            candidates[hash, default: []].append((bytes, value))
            candidateCount += 1
        }

        /// Duplicated values with their document counts, most frequent first: the candidates counted exactly
        /// by one query that reads back the documents holding them.
        func duplicates(context: AuditContext) throws -> [(value: BSONValue, count: Int)] {
            let values = candidates.values.flatMap { $0 }
            let counts = try countDocumentsHolding(
                values.map(\.value), path: check.field, in: context.database.collection(check.collectionName), context: context)
            return values.compactMap { candidate in
                let count = counts[candidate.bytes] ?? 0
                return count > 1 ? (candidate.value, count) : nil
            }.sorted { $0.count > $1.count }
        }

        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
            let method = seen.isExact ? "hash table" : "Bloom filter and a query"
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
                ("verification", "candidates picked by keyed hashes (SipHash, random key per run), counted on the values themselves by one query"),
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
    mutating func insert(_ hash: UInt64) -> Bool {
        if filter != nil { return filter!.insert(hash) }
        let present = table!.insert(hash)
        if table!.isFull {
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
        }
        return present
    }
}

/// An open-addressing set of 64-bit hashes (linear probing, at most 70% full; 0 marks an empty slot).
struct HashSet {
    private var slots: [UInt64]
    private(set) var count = 0
    static let maxLoad = 0.7

    init(expectedItems: Int) {
        slots = Array(repeating: 0, count: Self.capacity(forItems: expectedItems))
    }

    static func capacity(forItems items: Int) -> Int { max(1024, Int(Double(items) / maxLoad) + 1) }
    static func bytes(forItems items: Int) -> Int { capacity(forItems: items) * MemoryLayout<UInt64>.size }

    var isFull: Bool { Double(count) >= Double(slots.count) * Self.maxLoad }

    /// Adds the hash; returns true when it was there already.
    mutating func insert(_ hash: UInt64) -> Bool {
        let key = hash == 0 ? 1 : hash
        let capacity = slots.count
        // The high half of key x capacity spreads keys over the slots without a division.
        var index = Int(truncatingIfNeeded: key.multipliedFullWidth(by: UInt64(capacity)).high)
        return slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let slot = slots[index]
                if slot == key { return true }
                if slot == 0 {
                    slots[index] = key
                    count += 1
                    return false
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
        forEach { _ = bigger.insert($0) }
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
