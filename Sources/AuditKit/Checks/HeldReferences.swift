import Foundation
import MongoKit
import ScanKernel

// `references` holding its smaller side, like a hash join: when there are no more referencing documents
// than target documents, the source's shared pass (which then runs first) keeps each reference's keyed hash
// with the number of the document holding it (`ReferenceHolder`), and the target's shared pass looks its
// values up in them (`ReferenceLookup`) and gives the check's result. Each collection is read once, and the
// memory is the references' (12 bytes each plus their documents' `_id`s, about 2 bytes for ObjectIds),
// not the target's values'.

/// One reference: its value's keyed hash and the number of the referencing document that holds it, in
/// 12 bytes (the hash as two halves, so that nothing pads it to 16).
struct HeldReference: Comparable {
    private let hashHigh: UInt32
    private let hashLow: UInt32
    let document: UInt32

    init(hash: UInt64, document: UInt32) {
        hashHigh = UInt32(truncatingIfNeeded: hash >> 32)
        hashLow = UInt32(truncatingIfNeeded: hash)
        self.document = document
    }

    var hash: UInt64 { UInt64(hashHigh) << 32 | UInt64(hashLow) }

    static func < (left: HeldReference, right: HeldReference) -> Bool {
        (left.hashHigh, left.hashLow, left.document) < (right.hashHigh, right.hashLow, right.document)
    }
}

/// What the source's pass holds for the target's pass, handed from one to the other.
final class HeldReferences: @unchecked Sendable {
    enum Collected {
        case held(ReferenceTable, ids: FirstSightings, scan: ScanSummary)
        /// The references outgrew the budget: the target's pass runs the check on its own instead.
        case overflowed(scan: ScanSummary)
    }

    let key = SipHasher.randomKey()
    let budgetBytes: Int
    /// Set when the source's pass has finished; nil when it did not run to its end.
    var collected: Collected?

    init(budgetBytes: Int) { self.budgetBytes = budgetBytes }

    /// About how many references fit the budget: 12 bytes each, 2 for the table's index, 2 for its filter and
    /// 2 for the `_id`s.
    static func capacity(budgetBytes: Int) -> Int { budgetBytes / 18 }
}

/// The references sorted by hash, with where each range of hash values starts (`starts`, about one
/// range per two to four references), so that a lookup touches one or two cache lines; before them a
/// filter of one bit per eight references' worth of hash values turns most values no reference holds
/// away with one read in a small array (the target's values are mostly unreferenced).
struct ReferenceTable {
    let references: [HeldReference]
    private let starts: [UInt32]
    private let shift: UInt64
    private let filter: Bits
    private let filterShift: UInt64
    let referencingDocuments: Int

    /// Takes the references (`references` is left empty, so that they are never held twice).
    init(sorting references: inout [HeldReference], referencingDocuments: Int) {
        var sorted: [HeldReference] = []
        swap(&sorted, &references)
        sorted.withUnsafeMutableBufferPointer { sortInPlace($0) }
        let bits = max(1, UInt64.bitWidth - sorted.count.leadingZeroBitCount - 2)
        shift = UInt64(64 - bits)
        var starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
        var index = 0
        for range in 0..<(1 << bits) {
            starts[range] = UInt32(index)
            while index < sorted.count && Int(truncatingIfNeeded: sorted[index].hash >> shift) == range { index += 1 }
        }
        starts[1 << bits] = UInt32(sorted.count)
        let filterBits = max(6, UInt64.bitWidth - (sorted.count * 8).leadingZeroBitCount)
        filterShift = UInt64(64 - filterBits)
        var filter = Bits(count: 1 << filterBits)
        for reference in sorted {
            filter.insert(Int(truncatingIfNeeded: reference.hash >> filterShift))
        }
        self.filter = filter
        self.references = sorted
        self.starts = starts
        self.referencingDocuments = referencingDocuments
    }

    /// The position of the first reference with this hash, if any.
    @inline(__always)
    func first(_ hash: UInt64) -> Int? {
        guard filter.contains(Int(truncatingIfNeeded: hash >> filterShift)) else { return nil }
        let range = Int(truncatingIfNeeded: hash >> shift)
        return references.withUnsafeBufferPointer { references in
            var index = Int(starts[range])
            let end = Int(starts[range + 1])
            while index < end {
                let found = references[index].hash
                if found == hash { return index }
                if found > hash { return nil }
                index += 1
            }
            return nil
        }
    }
}

/// Keeps the references of the source's pass (see the top of this file).
final class ReferenceHolder: DocumentAccumulator {
    let check: ReferencesCheck
    let slot: Int
    let held: HeldReferences
    let capacity: Int
    @exclusivity(unchecked) var references: [HeldReference] = []
    /// The `_id` of each referencing document, by its number plus one: to read orphan examples back.
    @exclusivity(unchecked) var ids = FirstSightings()
    @exclusivity(unchecked) var referencingDocuments = 0
    @exclusivity(unchecked) var overflowed = false

    init(check: ReferencesCheck, slot: Int, held: HeldReferences, expectedDocuments: Int) {
        self.check = check
        self.slot = slot
        self.held = held
        capacity = HeldReferences.capacity(budgetBytes: held.budgetBytes)
        references.reserveCapacity(min(capacity, max(1_024, expectedDocuments)))
    }

    func visit(_ document: DocumentView, fields: FieldReader) {
        guard !overflowed else { return }
        let start = references.count
        let number = UInt32(truncatingIfNeeded: referencingDocuments)
        fields.forEachElement(slot) { value, _ in
            let hash = fields.hash(value, key: held.key)
            // A value the document holds twice is one reference (so, harmlessly, is another value with its hash).
            for earlier in references[start...] where earlier.hash == hash { return }
            references.append(HeldReference(hash: hash, document: number))
        }
        guard references.count > start else { return }
        _ = ids.append(fields)
        referencingDocuments += 1
        checkBudget()
    }

    private func checkBudget() {
        guard references.count > capacity || references.count * MemoryLayout<HeldReference>.stride + ids.storedBytes > held.budgetBytes else { return }
        overflowed = true
        references = []
        ids = FirstSightings(kept: false)
    }

    func merge(_ other: any DocumentAccumulator) {
        let other = mergeable(other)
        overflowed = overflowed || other.overflowed
        guard !overflowed else { return checkBudget() }
        let offset = UInt32(referencingDocuments)
        references += other.references.map { HeldReference(hash: $0.hash, document: $0.document + offset) }
        if ids.canHold(other.ids) {
            for number in 0..<other.ids.count {
                guard let id = other.ids.rawID(at: UInt32(number + 1)) else { continue }
                _ = id.bytes.withUnsafeBytes { ids.append(type: id.type, $0) }
            }
        } else {
            ids = FirstSightings(kept: false)
        }
        referencingDocuments += other.referencingDocuments
        checkBudget()
    }

    /// Hands the references to the target's pass; the result comes from there.
    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
        held.collected =
            overflowed
            ? .overflowed(scan: scan)
            : .held(ReferenceTable(sorting: &references, referencingDocuments: referencingDocuments), ids: ids, scan: scan)
        ids = FirstSightings(kept: false)
        return CheckOutput()
    }
}

/// Looks the target's values up in the references held by the source's pass, and finishes the check.
struct ReferenceLookupRider: PassRider {
    let check: ReferencesCheck
    let held: HeldReferences
    var fieldsRead: [String] { [check.targetField] }
    var purpose: String {
        "references (values of \(check.targetField) looked up in the references \(check.collectionName).\(check.field) holds)"
    }

    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        ReferenceLookup(check: check, held: held, slot: fields.index(of: check.targetField)!)
    }
}

final class ReferenceLookup: DocumentAccumulator {
    let check: ReferencesCheck
    let held: HeldReferences
    let slot: Int
    /// The references, when the source's pass held them all (its pass finished before this one started).
    private(set) var table: ReferenceTable?
    /// One bit per reference, set on the first of each hash: a target value has that hash.
    @exclusivity(unchecked) var hits: Bits

    init(check: ReferencesCheck, held: HeldReferences, slot: Int) {
        self.check = check
        self.held = held
        self.slot = slot
        if case .held(let table, _, _) = held.collected { self.table = table } else { table = nil }
        hits = Bits(count: table?.references.count ?? 0)
    }

    func visit(_ document: DocumentView, fields: FieldReader) {
        guard let table else { return }
        fields.forEachElement(slot) { value, _ in
            if let index = table.first(fields.hash(value, key: held.key)) { hits.insert(index) }
        }
    }

    func merge(_ other: any DocumentAccumulator) {
        let other = mergeable(other)
        hits.formUnion(other.hits)
    }

    /// The check's result, with the source's pass as its scan.
    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput {
        // Let the references go before the pass's other checks finish (some read more).
        defer {
            held.collected = nil
            table = nil
            hits = Bits(count: 0)
        }
        switch held.collected {
        case nil:
            // The source's pass did not finish: its result stands.
            return CheckOutput()
        case .overflowed(let sourceScan):
            var alone = check
            alone.arrangement = nil
            var output = try alone.run(in: context, severity: severity)
            output.metrics["documentsScanned"] = .count(sourceScan.scanned)
            return output
        case .held(let table, let ids, let sourceScan):
            var output = try figures(table, ids: ids, sourceScan: sourceScan, severity: severity, context: context)
            output.metrics["documentsScanned"] = .count(sourceScan.scanned)
            return output
        }
    }

    private func figures(
        _ table: ReferenceTable, ids: FirstSightings, sourceScan: ScanSummary, severity: Severity, context: AuditContext
    ) throws -> CheckOutput {
        let references = table.references
        var values = 0
        var orphanValues = 0
        var orphanDocuments = Bits(count: table.referencingDocuments)
        // The first document of each orphan hash, to take examples from the earliest.
        var firstOrphans: [(document: UInt32, hash: UInt64)] = []
        var index = 0
        while index < references.count {
            let hash = references[index].hash
            var end = index + 1
            while end < references.count && references[end].hash == hash { end += 1 }
            values += 1
            if !hits.contains(index) {
                orphanValues += 1
                for reference in references[index..<end] {
                    orphanDocuments.insert(Int(reference.document))
                }
                firstOrphans.append((references[index].document, hash))
                if firstOrphans.count > 4 * Orphans.exampleLimit {
                    firstOrphans.sort { $0.document < $1.document }
                    firstOrphans.removeSubrange(Orphans.exampleLimit...)
                }
            }
            index = end
        }
        firstOrphans.sort { $0.document < $1.document }
        let examples = try orphanExamples(Array(firstOrphans.prefix(Orphans.exampleLimit)), table: table, ids: ids, context: context)
        let orphans = Orphans(values: orphanValues, documents: orphanDocuments.setCount, examples: examples)
        let facts: [(name: String, text: String)] = [
            (
                "method",
                "the references' hashes held in the shared pass of \(check.collectionName), the target's values looked up in them in the shared pass of \(check.targetCollection)"
            ),
            (
                "verification",
                "orphans are certain (no target value has their hash); distinct values are counted by their keyed hashes (SipHash, random key per audit); "
                    + "a reference whose hash a target value shares is taken as resolved: an orphan is missed with probability at most orphan values x target values / 2^64"
            ),
        ]
        return try check.output(
            referencingDocuments: table.referencingDocuments, referencedValues: values, orphans: orphans, facts: facts, severity: severity,
            scan: sourceScan, context: context)
    }

    /// The orphan values of the earliest documents holding them, in document order: those documents read
    /// back by `_id` (or, when their `_id`s were not kept, one read of the source's field).
    private func orphanExamples(
        _ wanted: [(document: UInt32, hash: UInt64)], table: ReferenceTable, ids: FirstSightings, context: AuditContext
    ) throws -> [(bytes: [UInt8], value: BSONValue)] {
        guard !wanted.isEmpty else { return [] }
        var found: [UInt64: (bytes: [UInt8], value: BSONValue)] = [:]
        func take(_ reader: FieldReader) {
            reader.forEachElement(0) { value, position in
                let hash = reader.hash(value, key: held.key)
                guard found[hash] == nil, wanted.contains(where: { $0.hash == hash }), let swiftValue = reader.value(0, position) else { return }
                found[hash] = (canonicalBytes(value), swiftValue)
            }
        }
        let keptIDs = wanted.compactMap { ids.id(at: $0.document + 1)?.value }
        if keptIDs.count == wanted.count {
            try check.read(check.collectionName, field: check.field, filter: ["_id": ["$in": .array(keptIDs)]], context: context, take)
        } else {
            try check.read(check.collectionName, field: check.field, context: context, take)
        }
        return wanted.compactMap { found[$0.hash] }
    }
}
