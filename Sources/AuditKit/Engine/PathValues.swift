import Foundation
import MongoKit
import ScanKernel

/// The values a check looks at on a path, as MongoDB's query matching, `$lookup` and a multikey index see
/// them: every value the path reaches (`FieldReader`), arrays at the end of the path replaced by their
/// elements; null and undefined (which the server treats as null) and empty arrays count as no value.
extension FieldReader {
    /// Calls `body` with each element value of the path in the current document.
    @inline(__always)
    func forEachElement(_ slot: Int, _ body: (RawBSONValue, Int) -> Void) {
        let count = valueCount(slot)
        var position = 0
        while position < count {
            if !isWholeArray(slot, position) {
                let value = raw(slot, position)
                if value.type != 0x0A && value.type != 0x06 { body(value, position) }
            }
            position += 1
        }
    }
}

/// The canonical bytes of a value: equal for values MongoDB finds equal, different otherwise.
func canonicalBytes(_ value: RawBSONValue) -> [UInt8] { BSONCanonical.bytes(value) }

/// The canonical bytes of a Swift value (encoded once as a one-field document).
func canonicalBytes(_ value: BSONValue) -> [UInt8] {
    let document: Document = ["v": value]
    let bytes = document.bytes
    return bytes.withUnsafeBytes { buffer -> [UInt8] in
        var result: [UInt8] = []
        BSONElements.forEach(in: buffer) { _, raw in result = canonicalBytes(raw) }
        return result
    }
}

/// Exact counts of documents holding given values on a path, from one query: documents matching any of
/// them are read back and their values compared by MongoDB's equality, so hashes never decide a figure.
func countDocumentsHolding(
    _ values: [BSONValue], path: String, in collection: MongoCollection, context: AuditContext
) throws -> [[UInt8]: Int] {
    var wanted: [[UInt8]: Int] = [:]
    for value in values { wanted[canonicalBytes(value)] = 0 }
    guard !values.isEmpty else { return wanted }
    // A regular expression in $in matches strings; compare regular expressions by $eq instead.
    let regexes = values.filter { $0.type == .regex }
    let others = values.filter { $0.type != .regex }
    var clauses: [BSONValue] = []
    if !others.isEmpty { clauses.append([path: ["$in": .array(others)]]) }
    for regex in regexes { clauses.append([path: ["$eq": regex]]) }
    let reader = FieldReader(paths: [path])
    let projection = CollectionScan.projection(ofField: path, keepingID: false)
    try collection.find(
        ["$or": .array(clauses)],
        options: FindOptions(projection: projection, batchSize: CollectionScan.batchSize, maxTimeMS: context.maxTimeMS, readPreference: context.readPreference)
    ) { cursor in
        try cursor.forEachView { view in
            reader.load(view)
            var seen = Set<[UInt8]>()
            reader.forEachElement(0) { value, _ in
                let bytes = canonicalBytes(value)
                if wanted[bytes] != nil, seen.insert(bytes).inserted { wanted[bytes]! += 1 }
            }
        }
    }
    return wanted
}

extension Check {
    /// A check about a collection that does not exist has nothing to look at, which must not read as a
    /// pass (a misspelled name would pass every check): that is its finding, at the check's severity.
    func missingCollectionFinding(_ name: String, severity: Severity) -> Finding {
        finding(
            "missing_collection", in: name, severity: severity, title: "collection '\(name)' does not exist: nothing was checked",
            impact: "A misspelled or dropped collection makes every figure of this check empty instead of failing.",
            metrics: ["documents": .count(0)])
    }

    /// No silent pass: a finding when the collection a check reads does not exist (at the check's severity),
    /// is a view (info), or holds no document (at the check's severity): "100% over 0 documents" says nothing.
    func collectionFindings(_ name: String, documents: Int, severity: Severity, context: AuditContext) throws -> [Finding] {
        let info = try context.collections().first { $0.name == name }
        guard let info else { return [missingCollectionFinding(name, severity: severity)] }
        var findings: [Finding] = []
        if info.kind == .view {
            findings.append(
                finding(
                    "collection_is_view", in: name, severity: .info, title: "'\(name)' is a view: its figures are those of the view's pipeline",
                    impact: "The check read the view's output, not a collection.", metrics: ["documents": .count(documents)]))
        }
        if documents == 0 {
            findings.append(
                finding(
                    "empty_collection", in: name, severity: severity, title: "collection '\(name)' holds no document: nothing was checked",
                    impact: "An empty collection passes every rule; it is probably not the one meant.", metrics: ["documents": .count(0)]))
        }
        return findings
    }
}
