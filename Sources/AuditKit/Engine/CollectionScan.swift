import Foundation
import MongoKit

/// How the shared pass over a collection reads it.
public struct ScanOptions: Sendable {
    /// Audit a random sample of this many documents instead of the whole collection.
    public var sampleSize: Int?
    /// Where scans read; a secondary when one is available by default, to keep load off the primary.
    public var readPreference: ReadPreference
    /// Told how far each pass has come, about every thousand documents, from the thread that scans.
    public var progress: (@Sendable (ScanProgress) -> Void)?
    /// Only the documents matching this filter (a part of the collection, such as an `_id` range, whose
    /// accumulators are merged with the other parts').
    public var filter: Document?

    public init(
        sampleSize: Int? = nil, readPreference: ReadPreference = .secondaryPreferred, filter: Document? = nil,
        progress: (@Sendable (ScanProgress) -> Void)? = nil
    ) {
        self.sampleSize = sampleSize
        self.readPreference = readPreference
        self.filter = filter
        self.progress = progress
    }
}

/// How far a pass over a collection has come.
public struct ScanProgress: Sendable {
    public let collection: String
    public let documentsDone: Int
    /// The documents the pass expects to visit (the collection's estimated count, or the sample size).
    public let documentsExpected: Int
    /// True for the last report of a pass.
    public let finished: Bool
}

/// One pass over a collection that feeds every document check on it. The projection is the union of
/// the fields the checks read (whole documents when one of them needs all fields).
struct CollectionScan {
    /// Documents per reply: about 1 MB of typical documents. Larger batches measured no faster here and
    /// cost memory; much smaller ones cost more replies.
    static let batchSize = 3000

    let collection: MongoCollection
    let accumulators: [any DocumentAccumulator]
    /// The accumulators that prefetch what their visit will read, told each document before any visit.
    let prefetchers: [any PrefetchingAccumulator]
    /// The paths read; nil when a check needs whole documents.
    let fields: [String]?
    let reader: FieldReader
    let options: ScanOptions
    let maxTimeMS: Int
    /// The collection's document count from its metadata, read once for the accumulators and the progress line.
    let estimatedCount: Int

    /// `riders` (checks of other collections collecting values here) get accumulators after the checks'.
    init(
        collection: MongoCollection, checks: [any DocumentCheck], riders: [any PassRider] = [], context: AuditContext, options: ScanOptions,
        maxTimeMS: Int
    ) throws {
        self.collection = collection
        let count = try collection.estimatedDocumentCount()
        estimatedCount = count
        let expected = options.sampleSize.map { min($0, count) } ?? count
        let paths = Self.pathsRead(by: checks, riders: riders)
        fields = checks.contains { $0.readsWholeDocuments } ? nil : paths
        // `_id` comes first: examples read it at index 0.
        let reader = FieldReader(paths: ["_id"] + paths)
        self.reader = reader
        accumulators =
            checks.map { $0.makeAccumulator(context: context, fields: reader, expectedDocuments: expected) }
            + riders.map { $0.makeAccumulator(context: context, fields: reader, expectedDocuments: expected) }
        prefetchers = accumulators.compactMap { $0 as? any PrefetchingAccumulator }
        self.options = options
        self.maxTimeMS = maxTimeMS
    }

    /// The projection: `_id` (for examples) plus each field read. Paths that are prefixes of others are
    /// kept alone, since MongoDB rejects a projection holding both `a` and `a.b`. A path with a numeric
    /// component (`location.coordinates.1`) is projected up to its parent (`location.coordinates`): a
    /// projection reads `1` as a field name inside arrays and would return them empty.
    var projection: Document? { Self.projection(of: fields) }

    /// The paths a pass for `checks` and `riders` reads, `_id` aside (always read).
    static func pathsRead(by checks: [any DocumentCheck], riders: [any PassRider] = []) -> [String] {
        Array(Set(checks.flatMap(\.fieldsRead) + riders.flatMap(\.fieldsRead))).sorted().filter { $0 != "_id" }
    }

    /// The projection of a pass reading `fields` (nil: whole documents).
    static func projection(of fields: [String]?) -> Document? {
        guard let fields else { return nil }
        // The pass reads `_id` whole (examples, first sightings read back by it): a field under it
        // (`_id.site`) is projected as `_id`, since projecting `_id.site` alone returns `_id` cut down to it.
        let projected = Array(Set(fields.map(Self.projectionPath).map { $0.hasPrefix("_id.") ? "_id" : $0 })).sorted()
        let kept = projected.filter { field in !projected.contains { other in other != field && field.hasPrefix(other + ".") } }
        return Document(kept.map { ($0, BSONValue.int32(1)) })
    }

    /// A projection of one field for a read of its own, with or without `_id`. A field under `_id` (`_id.site`)
    /// is reached through `_id` itself: naming both `_id` and `_id.site` is a path collision the server refuses.
    static func projection(ofField field: String, keepingID: Bool) -> Document {
        let projected = projectionPath(field)
        if projected == "_id" || projected.hasPrefix("_id.") { return keepingID ? ["_id": 1] : [projected: 1] }
        return Document([("_id", BSONValue.int32(keepingID ? 1 : 0)), (projected, .int32(1))])
    }

    /// The part of a path a projection can name without losing values: up to its first numeric component.
    static func projectionPath(_ path: String) -> String {
        let components = path.split(separator: ".", omittingEmptySubsequences: false)
        guard
            let numeric = components.indices.dropFirst().first(where: { index in
                !components[index].isEmpty && components[index].allSatisfy { $0.isASCII && $0.isNumber }
            })
        else { return path }
        return components[..<numeric].joined(separator: ".")
    }

    func run() throws -> ScanSummary {
        let total = estimatedCount
        let expected = options.sampleSize.map { min($0, total) } ?? total
        let name = collection.name
        let report = options.progress.map { report in
            { (done: Int, finished: Bool) in
                report(ScanProgress(collection: name, documentsDone: done, documentsExpected: expected, finished: finished))
            }
        }
        // Held unretained in the loop; `accumulators` and `prefetchers` keep them alive until the pass ends.
        let visitors = accumulators.map(UnretainedAccumulator.init)
        let prefetching = prefetchers.map(UnretainedPrefetcher.init)
        defer { withExtendedLifetime((accumulators, prefetchers)) {} }
        var scanned = 0
        let visit: (MongoCursor) throws -> Void = { cursor in
            // Counted in a local and added at the end: each update of `scanned`, which this escaping
            // closure shares, would be checked for exclusive access at run time.
            var visited = 0
            defer { scanned += visited }
            try cursor.forEachViewPrefetched { view in
                visited += 1
                reader.load(view)
                for prefetcher in prefetching { prefetcher.prefetch(fields: reader) }
                for visitor in visitors { visitor.visit(view, fields: reader) }
                if visited & 0x3FF == 0 { report?(scanned + visited, false) }
                return true
            }
        }
        if let sampleSize = options.sampleSize {
            let aggregateOptions = AggregateOptions(batchSize: Self.batchSize, maxTimeMS: maxTimeMS, readPreference: options.readPreference)
            let keep = options.filter == nil ? Self.bernoulliShare(sample: sampleSize, of: total) : nil
            do {
                try collection.aggregate(samplePipeline(sampleSize, keeping: keep), options: aggregateOptions, visit)
            } catch MongoError.command(let error) where keep != nil && scanned == 0 && Self.randUnknownCodes.contains(error.code) {
                // A server before 4.4.2 has no $rand: the server's own scan and sort, as before.
                try collection.aggregate(samplePipeline(sampleSize, keeping: nil), options: aggregateOptions, visit)
            }
        } else {
            try collection.find(
                options.filter ?? Document(),
                options: FindOptions(
                    projection: projection, batchSize: Self.batchSize, maxTimeMS: maxTimeMS, readPreference: options.readPreference,
                    exhaust: true), visit)
        }
        report?(scanned, true)
        return ScanSummary(scanned: scanned, total: options.sampleSize == nil ? scanned : total, sampled: options.sampleSize != nil)
    }

    /// The pipeline of a sample of `size` documents. `keeping` (see `bernoulliShare`) first keeps each
    /// document with that probability, on the server, then `$sample` draws `size` of those kept.
    func samplePipeline(_ size: Int, keeping share: Double?) -> [Document] {
        var pipeline: [Document] = options.filter.map { [["$match": .document($0)]] } ?? []
        if let share { pipeline.append(["$match": ["$expr": ["$lt": [["$rand": [:]], .double(share)]]]]) }
        pipeline.append(["$sample": ["size": .int64(Int64(size))]])
        if let projection { pipeline.append(["$project": .document(projection)]) }
        return pipeline
    }

    /// Errors of a server that does not know `$rand` (before 4.4.2): InvalidPipelineOperator and the
    /// "Unrecognized expression" of `$expr`.
    static let randUnknownCodes: Set<Int> = [168, 31325]

    /// The probability with which each document is kept before `$sample` draws `sample` of them, when
    /// that is cheaper than the server's own way; nil otherwise.
    ///
    /// Up to 5% of a collection (of more than 100 documents) the server draws a `$sample` first in the
    /// pipeline with a random cursor, reading only the documents drawn; that is kept. Above, it reads the
    /// whole collection and sorts all of it by random keys to keep the first `sample`: here a `$rand`
    /// filter first keeps each document independently with probability p (the same for every document),
    /// and `$sample` then draws `sample` of the kept ones at random. That is still a uniform random sample
    /// without repeats (the kept set is exchangeable, and a uniform subset of it is a uniform subset of
    /// the collection), and the sort handles about `sample` documents instead of all of them (measured:
    /// 10,000 of 100,000 documents in 79 ms against 193 ms, the server's median over 9 alternating runs).
    /// p leaves the kept count (binomial, mean `count·p`) 5 standard deviations above `sample` plus 2%
    /// for a stale count; should fewer be kept all the same, the pass reads those and reports the sample
    /// it read. Nil above about 80% of the collection, where the filter would keep almost everything.
    static func bernoulliShare(sample: Int, of count: Int) -> Double? {
        guard count > 100, sample * 20 > count else { return nil }
        let wanted = (Double(sample) + 5 * Double(sample).squareRoot() + 10) * 1.02
        let share = wanted / Double(count)
        return share < 0.8 ? share : nil
    }
}
