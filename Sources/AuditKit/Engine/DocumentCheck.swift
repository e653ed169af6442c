import Foundation
import MongoKit

/// A check that looks at every document of one collection. All document checks of a collection share
/// a single pass (see `CollectionScan`), each reading only the fields it names.
public protocol DocumentCheck: Check {
    /// The dotted paths the check reads.
    var fieldsRead: [String] { get }
    /// Whether the check also walks every field of each document (so the pass cannot project).
    var readsWholeDocuments: Bool { get }
    /// A fresh accumulator for one pass over the collection; `fields` reads every path in `fieldsRead`, and
    /// about `expectedDocuments` documents will be visited (for sizing).
    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator
}

extension DocumentCheck {
    public var readsWholeDocuments: Bool { false }

    /// Runs the check on its own, in a pass of its own (the auditor shares passes instead).
    public func run(in context: AuditContext, severity: Severity) throws -> [Finding] {
        let scan = try CollectionScan(
            collection: context.database.collection(collection ?? ""), checks: [self], context: context,
            options: ScanOptions(readPreference: context.readPreference), maxTimeMS: context.maxTimeMS)
        let summary = try scan.run()
        return try scan.accumulators[0].findings(severity: severity, scan: summary, context: context)
    }
}

/// Collects what one document check needs while the shared pass visits documents.
public protocol DocumentAccumulator: AnyObject {
    /// Called once per document, after `fields` has loaded it.
    func visit(_ document: DocumentView, fields: FieldReader)
    /// The findings, once every document was visited.
    func findings(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> [Finding]
}

/// How many documents a pass saw, and whether they were a random sample of the collection.
public struct ScanSummary: Sendable {
    public let scanned: Int
    /// The collection's document count (estimated from metadata when sampling).
    public let total: Int
    public let sampled: Bool

    public init(scanned: Int, total: Int, sampled: Bool) {
        self.scanned = scanned
        self.total = total
        self.sampled = sampled
    }

    /// A count as reports print it: exact with its share, or, for a sample, the estimate for the whole
    /// collection with a 95% confidence interval (Wilson score interval).
    public func describe(_ count: Int) -> String {
        let share = scanned == 0 ? 0 : Double(count) / Double(scanned)
        guard sampled else { return "\(count) of \(scanned) (\(percent(share)))" }
        let (low, high) = wilsonInterval(count)
        let estimate = Int((share * Double(total)).rounded())
        return "~\(estimate) of \(total) (\(percent(share)), 95% CI \(percent(low))–\(percent(high)), sample of \(scanned))"
    }

    /// The 95% Wilson score interval of the share `count / scanned`.
    public func wilsonInterval(_ count: Int) -> (Double, Double) {
        guard scanned > 0 else { return (0, 0) }
        let n = Double(scanned)
        let p = Double(count) / n
        let z = 1.959964
        let denominator = 1 + z * z / n
        let centre = (p + z * z / (2 * n)) / denominator
        let margin = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
        return (max(0, centre - margin), min(1, centre + margin))
    }

    /// The share of scanned documents, for thresholds.
    public func share(_ count: Int) -> Double { scanned == 0 ? 1 : Double(count) / Double(scanned) }
}

func percent(_ share: Double) -> String { String(format: "%.2f%%", share * 100) }

/// Keeps the first few `_id`s of documents that broke a rule, as examples a person can look up.
struct Examples {
    private(set) var ids: [String] = []
    let limit: Int

    init(limit: Int = 5) { self.limit = limit }

    /// Adds the document's `_id` (the scan always reads `_id`).
    mutating func add(_ fields: FieldReader) {
        guard ids.count < limit else { return }
        ids.append(fields.value(0).map(describeID) ?? "?")
    }

    var text: String { ids.joined(separator: ", ") }
}

/// An `_id` as a person pastes it into a query.
func describeID(_ value: BSONValue) -> String {
    switch value {
    case .objectId(let id): return "ObjectId(\"\(id.hex)\")"
    case .string(let s): return "\"\(s)\""
    case .int32, .int64, .double: return value.doubleValue.map { String(format: "%g", $0) } ?? "?"
    default: return value.relaxedJSON
    }
}
