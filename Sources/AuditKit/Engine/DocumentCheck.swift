import Foundation
import MongoKit
import ScanKernel

/// A check that looks at every document of one collection. All document checks of a collection share
/// a single pass (see `CollectionScan`), each reading only the fields it names.
public protocol DocumentCheck: Check {
    /// The dotted paths the check reads.
    var fieldsRead: [String] { get }
    /// Whether the check also walks every field of each document (so the pass cannot project).
    var readsWholeDocuments: Bool { get }
    /// What the check will read besides its collection's shared pass over `documents` documents, in words
    /// for `audit --plan` (nil: nothing).
    func readsBeyondItsPass(documents: Int) -> String?
    /// A fresh accumulator for one pass over the collection; `fields` reads every path in `fieldsRead`, and
    /// about `expectedDocuments` documents will be visited (for sizing).
    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator
}

extension DocumentCheck {
    public var readsWholeDocuments: Bool { false }
    public func readsBeyondItsPass(documents: Int) -> String? { nil }

    /// Runs the check on its own, in a pass of its own (the auditor shares passes instead).
    public func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        let scan = try CollectionScan(
            collection: context.database.collection(collection ?? ""), checks: [self], context: context,
            options: ScanOptions(readPreference: context.readPreference), maxTimeMS: context.maxTimeMS)
        let summary = try scan.run()
        return try scan.accumulators[0].output(severity: severity, scan: summary, context: context)
    }
}

/// Collects what one document check needs while the shared pass visits documents.
public protocol DocumentAccumulator: AnyObject {
    /// Called once per document, after `fields` has loaded it.
    func visit(_ document: DocumentView, fields: FieldReader)
    /// Adds what `other` (an accumulator of the same check, fed a disjoint part of the same collection)
    /// collected, so that `output` gives the figures one pass over both parts would have given.
    func merge(_ other: any DocumentAccumulator)
    /// The findings and figures, once every document was visited. The output's metrics need not repeat
    /// `documentsScanned`: the auditor adds it.
    func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput
}

/// An accumulator whose `visit` waits on memory it can name ahead (a large hash table): the pass calls
/// `prefetch` for each document before any accumulator visits it, so the loads overlap the other visits.
public protocol PrefetchingAccumulator: DocumentAccumulator {
    /// Called once per document, after `fields` has loaded it and before the accumulators visit it. A hint:
    /// `visit` must give the same result whether or not it was called.
    func prefetch(fields: FieldReader)
}

/// An accumulator as the shared pass's per-document loop holds it: a loop over `[any DocumentAccumulator]`
/// retains and releases each accumulator per document (about 6% of an audit's CPU time, measured). The
/// pass's own array keeps every accumulator alive while the loop runs. The calls go through the
/// accumulator's own type (recorded here from the instance), so they are direct, not existential.
struct UnretainedAccumulator {
    private let object: Unretained<AnyObject>
    private let type: any DocumentAccumulator.Type

    init(_ accumulator: any DocumentAccumulator) {
        object = Unretained(accumulator)
        type = Swift.type(of: accumulator)
    }

    func visit(_ document: DocumentView, fields: FieldReader) { type.visit(unretained: object, document, fields: fields) }
}

/// A prefetching accumulator held the same way.
struct UnretainedPrefetcher {
    private let object: Unretained<AnyObject>
    private let type: any PrefetchingAccumulator.Type

    init(_ accumulator: any PrefetchingAccumulator) {
        object = Unretained(accumulator)
        type = Swift.type(of: accumulator)
    }

    func prefetch(fields: FieldReader) { type.prefetch(unretained: object, fields: fields) }
}

extension DocumentAccumulator {
    /// `visit` on an instance of this type that the caller keeps alive.
    fileprivate static func visit(unretained object: Unretained<AnyObject>, _ document: DocumentView, fields: FieldReader) {
        object.with(as: Self.self) { $0.visit(document, fields: fields) }
    }
}

extension PrefetchingAccumulator {
    fileprivate static func prefetch(unretained object: Unretained<AnyObject>, fields: FieldReader) {
        object.with(as: Self.self) { $0.prefetch(fields: fields) }
    }
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

    /// A count of the documents looked at, as a figure: exact, or for a sample with the estimate for
    /// the whole collection and its confidence interval.
    public func proportion(_ count: Int) -> Metric {
        .proportion(Proportion(count: count, of: scanned, exact: !sampled, total: total))
    }

    /// The share of scanned documents, for thresholds.
    public func share(_ count: Int) -> Double { scanned == 0 ? 1 : Double(count) / Double(scanned) }
}

/// Keeps the first few `_id`s of documents that broke a rule, as examples a person can look up.
struct Examples {
    private(set) var ids: [BSONValue] = []
    let limit: Int

    init(limit: Int = 5) { self.limit = limit }

    /// Adds the document's `_id` (the scan always reads `_id`, at slot 0).
    mutating func add(_ fields: FieldReader) {
        guard ids.count < limit else { return }
        ids.append(fields.value(0) ?? .undefined)
    }

    /// Adds another part's examples after this part's own, up to the limit.
    mutating func merge(_ other: Examples) {
        ids.append(contentsOf: other.ids.prefix(max(0, limit - ids.count)))
    }
}

extension DocumentAccumulator {
    /// `other` as this accumulator's own type: merging accumulators of different checks is a programming error.
    func mergeable(_ other: any DocumentAccumulator) -> Self {
        guard let same = other as? Self, same !== self else {
            preconditionFailure("merge: \(type(of: other)) is not another \(Self.self)")
        }
        return same
    }
}
