import Foundation
import MongoKit
import SpecSupport

/// Duplicates of a field that must be unique. It rides the shared pass: each value's 64-bit hash goes
/// into a Bloom filter (about 2 bytes per document), values the filter has probably seen become
/// candidates, and one server query on the candidates gives exact counts. So it is exact, fast without
/// an index on the field, and its memory stays small at millions of documents.
public struct UniqueValuesCheck: DocumentCheck {
    public static let description = CheckDescription(
        identifier: "unique_values",
        name: "Unique values",
        summary: "Values of a field that appear in more than one document (missing and null values aside), "
            + "with the number of duplicated values, the documents beyond the first, and examples.",
        defaultSeverity: .high,
        needs: "find and aggregate on the collection (the read role); one shared pass plus one query",
        options: [
            CheckOption("collection", "name", "the collection", required: true),
            CheckOption("field", "path", "the field whose values must be unique", required: true),
        ])

    public static let examples = [
        CheckExample(
            "all uuids differ", setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "b"], ["x": 1], ["uuid": .null], ["uuid": .null]]]],
            entry: "collection: recordings\nfield: uuid", passes: true),
        CheckExample(
            "a uuid appears three times",
            setup: [["insert": "recordings", "documents": [["uuid": "a"], ["uuid": "a"], ["uuid": "a"], ["uuid": "b"]]]],
            entry: "collection: recordings\nfield: uuid", passes: false),
    ]

    /// Beyond this many candidate values the check stops collecting them and says so.
    static let candidateLimit = 100_000

    let collectionName: String
    let field: String
    public var collection: String? { collectionName }
    public var fieldsRead: [String] { [field] }

    public init(options: SpecFields) throws {
        collectionName = try options.required("collection").string()
        let fieldNode = try options.required("field")
        field = try fieldNode.string()
        try fieldNode.validateFieldPath(field)
    }

    public func makeAccumulator(context: AuditContext, fields: FieldReader) -> any DocumentAccumulator {
        let expected = (try? context.database.collection(collectionName).estimatedDocumentCount()) ?? 0
        return Accumulator(check: self, slot: fields.index(of: field)!, expectedDocuments: expected)
    }

    final class Accumulator: DocumentAccumulator {
        let check: UniqueValuesCheck
        let slot: Int
        var seen: BloomFilter
        var candidates: [String: BSONValue] = [:]
        var candidatesTruncated = false

        init(check: UniqueValuesCheck, slot: Int, expectedDocuments: Int) {
            self.check = check
            self.slot = slot
            seen = BloomFilter(expectedItems: max(expectedDocuments, 10_000))
        }

        func visit(_ document: DocumentView, fields: FieldReader) {
            guard let hash = fields.valueHash(slot) else { return }
            guard seen.insert(hash) else { return }
            // Probably a repeat: keep the value for the exact count afterwards.
            guard candidates.count < UniqueValuesCheck.candidateLimit else {
                candidatesTruncated = true
                return
            }
            if let value = fields.value(slot) { candidates[value.relaxedJSON] = value }
        }

        func findings(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> [Finding] {
            guard !candidates.isEmpty else { return [] }
            let field = check.field
            var duplicatedValues = 0
            var extraDocuments = 0
            var examples: [String] = []
            let pipeline: [Document] = [
                ["$match": [field: ["$in": .array(Array(candidates.values))]]],
                ["$group": ["_id": .string("$" + field), "count": ["$sum": 1]]],
                ["$match": ["count": ["$gt": 1]]],
                ["$sort": ["count": -1]],
            ]
            try context.database.collection(check.collectionName).aggregate(
                pipeline, options: AggregateOptions(maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
            ) { cursor in
                while let group = try cursor.next() {
                    let count = group["count"]?.intValue ?? 0
                    duplicatedValues += 1
                    extraDocuments += count - 1
                    if examples.count < 5, let value = group["_id"] { examples.append("\(value.relaxedJSON) ×\(count)") }
                }
            }
            guard duplicatedValues > 0 else { return [] }
            let sampleNote = scan.sampled ? " in a sample of \(scan.scanned)" : ""
            var details = [
                "duplicatedValues": String(duplicatedValues), "extraDocuments": String(extraDocuments),
                "examples": examples.joined(separator: ", "),
            ]
            if candidatesTruncated { details["note"] = "more than \(UniqueValuesCheck.candidateLimit) repeated values; counts cover the first ones" }
            return [
                Finding(
                    check: UniqueValuesCheck.description.identifier, collection: check.collectionName, severity: severity,
                    title: "\(duplicatedValues) value(s) of '\(field)' are shared by more than one document (\(extraDocuments) extra document(s))\(sampleNote)",
                    impact: "Lookups by \(field) return several documents where code expects one, and a unique index on "
                        + "\(field) cannot be built until the duplicates are resolved.",
                    fix: "list them: db.getSiblingDB(\"\(context.database.name)\").\(check.collectionName).aggregate([{$group: {_id: \"$\(field)\", ids: {$push: \"$_id\"}, n: {$sum: 1}}}, {$match: {n: {$gt: 1}}}], {allowDiskUse: true})",
                    details: details)
            ]
        }
    }
}

/// A Bloom filter over 64-bit hashes: 14 to 29 bits per item, for at most a 0.1% false-positive rate.
struct BloomFilter {
    private var words: [UInt64]
    private let bitMask: UInt64
    private let probes = 10

    init(expectedItems: Int) {
        // A power of two of bits, so that positions come from a mask rather than a division.
        var bits: UInt64 = 1 << 16
        while Double(bits) < Double(expectedItems) * 14.4 { bits <<= 1 }
        words = Array(repeating: 0, count: Int(bits / 64))
        bitMask = bits - 1
    }

    /// Adds the hash; returns true when it was (probably) there already.
    mutating func insert(_ hash: UInt64) -> Bool {
        // Double hashing over a well-mixed hash gives the probe positions.
        let mixed = mix(hash)
        let first = mixed & 0xFFFF_FFFF
        let step = (mixed >> 32) | 1
        var present = true
        for probe in 0..<UInt64(probes) {
            let bit = (first &+ probe &* step) & bitMask
            let word = Int(bit >> 6)
            let mask = UInt64(1) << (bit & 63)
            if words[word] & mask == 0 {
                present = false
                words[word] |= mask
            }
        }
        return present
    }

    private func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
