import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import AuditKit

/// Passes over disjoint parts of a collection merge into one pass's figures (what shard-parallel scans
/// would use): every document check's accumulator runs over the whole collection once, and over two halves
/// split by an `_id` range then merged; findings, severities, every metric and the examples must agree.
final class MergeableAccumulatorTests: XCTestCase {
    nonisolated(unsafe) static var client: MongoClient!
    nonisolated(unsafe) static var database: MongoDatabase!

    override class func setUp() {
        super.setUp()
        do {
            client = try TestServer.client()
            database = client.database(TestServer.uniqueDatabaseName("mergeable"))
            _ = try SampleDatabase(recordingCount: 4_000).create(in: database)
            var generator = RandomDocuments(seed: 20_261_122)
            try database.collection("docs").insertMany((0..<3_000).map { generator.next(id: $0) })
        } catch {
            XCTFail("setting up the databases failed: \(error)")
        }
    }

    override class func tearDown() {
        try? database?.drop()
        super.tearDown()
    }

    /// The shipped spec's document checks of `recordings`, on the sample with its injected defects.
    func sampleChecks() throws -> [ConfiguredCheck] {
        let spec = try AuditSpec.load(path: repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path)
        return spec.checks.filter { $0.check is any DocumentCheck && $0.check.collection == "recordings" }
    }

    /// Every document check over random documents: each type set, each rule (patterns included), the
    /// live/historic rules and unique values on each path, with undeclared fields counted.
    func randomChecks() throws -> [ConfiguredCheck] {
        let spec = DifferentialTests.documentChecksSpec(undeclaredTop: 10, references: false)
        return try AuditSpec(text: spec, file: "merge.yml").checks
    }

    /// One pass over the documents matching `filter`, feeding an accumulator per check.
    func pass(_ checks: [ConfiguredCheck], over collection: String, filter: Document?, context: AuditContext) throws
        -> (accumulators: [any DocumentAccumulator], summary: ScanSummary)
    {
        let scan = try CollectionScan(
            collection: Self.database.collection(collection), checks: checks.map { $0.check as! any DocumentCheck }, context: context,
            options: ScanOptions(readPreference: .primary, filter: filter), maxTimeMS: 60_000)
        return (scan.accumulators, try scan.run())
    }

    /// The median `_id`: the halves below and from it each hold about half of the documents.
    func pivot(of collection: String) throws -> BSONValue {
        let count = try Self.database.collection(collection).countDocuments()
        let middle = try Self.database.collection(collection).find(
            options: FindOptions(projection: ["_id": 1], sort: ["_id": 1], limit: 1, skip: count / 2)
        ) { try $0.next() }
        return try XCTUnwrap(middle?["_id"])
    }

    /// Returns the merged outputs.
    @discardableResult
    func assertHalvesMergeToTheWhole(_ checks: [ConfiguredCheck], collection: String, _ label: String) throws -> [CheckOutput] {
        let context = AuditContext(database: Self.database, maxTimeMS: 60_000, readPreference: .primary)
        let pivot = try pivot(of: collection)
        let whole = try pass(checks, over: collection, filter: nil, context: context)
        let low = try pass(checks, over: collection, filter: ["_id": ["$lt": pivot]], context: context)
        let high = try pass(checks, over: collection, filter: ["_id": ["$gte": pivot]], context: context)
        XCTAssertGreaterThan(low.summary.scanned, 0)
        XCTAssertGreaterThan(high.summary.scanned, 0)
        XCTAssertEqual(low.summary.scanned + high.summary.scanned, whole.summary.scanned)
        let merged = ScanSummary(scanned: whole.summary.scanned, total: whole.summary.scanned, sampled: false)
        var findings = 0
        var outputs: [CheckOutput] = []
        for (index, configured) in checks.enumerated() {
            let name = "\(label) #\(index) \(configured.identifier)"
            low.accumulators[index].merge(high.accumulators[index])
            let one = try whole.accumulators[index].output(severity: configured.severity, scan: whole.summary, context: context)
            let two = try low.accumulators[index].output(severity: configured.severity, scan: merged, context: context)
            XCTAssertEqual(two.metrics, one.metrics, name)
            XCTAssertEqual(two.findings.map(\.id), one.findings.map(\.id), name)
            for (mergedFinding, wholeFinding) in zip(two.findings, one.findings) {
                XCTAssertEqual(mergedFinding.severity, wholeFinding.severity, "\(name): \(wholeFinding.id)")
                XCTAssertEqual(mergedFinding.metrics, wholeFinding.metrics, "\(name): \(wholeFinding.id)")
                // The halves are in `_id` order, as is the whole pass over documents inserted in that order;
                // a pattern's server verdicts come in batches, so its examples are only as many.
                if configured.identifier == "value_rules" {
                    XCTAssertEqual(mergedFinding.examples.count, wholeFinding.examples.count, "\(name): \(wholeFinding.id)")
                } else if configured.identifier == "unique_values" {
                    // The same values, by MongoDB's equality (0 and 0.0 are one value; either may stand for it).
                    XCTAssertEqual(
                        mergedFinding.examples.map(canonicalBytes), wholeFinding.examples.map(canonicalBytes), "\(name): \(wholeFinding.id)")
                } else {
                    XCTAssertEqual(mergedFinding.examples, wholeFinding.examples, "\(name): \(wholeFinding.id)")
                }
            }
            findings += one.findings.count
            outputs.append(two)
        }
        XCTAssertGreaterThan(findings, 0, "\(label): the data breaks rules, so the comparison compares something")
        return outputs
    }

    /// How the merged unique_values output verified its candidates.
    func verification(_ outputs: [CheckOutput]) -> [String?] {
        outputs.flatMap(\.findings).filter { $0.kind == "duplicate_values" }.map { $0.fact("verification") }
    }

    func testSampleDatabaseHalvesMergeToOnePass() throws {
        let checks = try sampleChecks()
        XCTAssertTrue(Set(checks.map(\.identifier)).isSuperset(of: ["field_completeness", "live_historic", "value_rules", "unique_values"]))
        // No index on uuid: unique_values keeps first sightings' _ids, and the halves' fold together.
        let outputs = try assertHalvesMergeToTheWhole(checks, collection: "recordings", "sample")
        XCTAssertEqual(verification(outputs).count, 1)
        XCTAssertTrue(verification(outputs).allSatisfy { $0?.hasSuffix("first sightings read back by _id") == true })
    }

    /// With an index on the field, unique_values keeps no `_id`s: merged halves count cross-part repeats in
    /// a last pass. Through the Bloom filter, likewise.
    func testUniqueValuesMergeWithAnIndexAndThroughTheBloomFilter() throws {
        let checks = try sampleChecks().filter { $0.identifier == "unique_values" }
        let recordings = Self.database.collection("recordings")
        _ = try recordings.createIndexes([IndexSpec(keys: [IndexKey(field: "uuid", direction: 1)])])
        defer { _ = try? recordings.dropIndex(named: "uuid_1") }
        let indexed = try assertHalvesMergeToTheWhole(checks, collection: "recordings", "indexed uuid")
        XCTAssertTrue(verification(indexed).allSatisfy { $0?.hasSuffix("in a last pass over merged parts") == true })
        let bloom = try checks.map { configured in
            var check = try XCTUnwrap(configured.check as? UniqueValuesCheck)
            check.exactTableBytes = 0
            return ConfiguredCheck(check: check, severity: configured.severity)
        }
        try assertHalvesMergeToTheWhole(bloom, collection: "recordings", "Bloom filter")
    }

    func testRandomDocumentsHalvesMergeToOnePass() throws {
        let checks = try randomChecks()
        let outputs = try assertHalvesMergeToTheWhole(checks, collection: "docs", "random")
        XCTAssertEqual(verification(outputs).count, DifferentialTests.paths.count)
        let bloom = try checks.compactMap { configured -> ConfiguredCheck? in
            guard var check = configured.check as? UniqueValuesCheck else { return nil }
            check.exactTableBytes = 0
            return ConfiguredCheck(check: check, severity: configured.severity)
        }
        try assertHalvesMergeToTheWhole(bloom, collection: "docs", "random, Bloom filter")
    }

    /// Random documents with an index on each unique path: no `_id`s kept, cross-part repeats in a last pass.
    func testRandomDocumentsWithIndexesMergeToOnePass() throws {
        let docs = Self.database.collection("docs")
        // The server refuses some paths (a numeric component meeting an array of documents): those go unindexed.
        let indexes = DifferentialTests.paths.map { IndexSpec(keys: [IndexKey(field: $0, direction: 1)]) }.filter { index in
            (try? docs.createIndexes([index])) != nil
        }
        defer { _ = try? docs.dropIndexes(named: indexes.map(\.name)) }
        XCTAssertGreaterThanOrEqual(indexes.count, 2)
        let indexed = Set(indexes.map { $0.keys[0].field })
        let checks = try randomChecks().filter { ($0.check as? UniqueValuesCheck).map { indexed.contains($0.field) } ?? false }
        try assertHalvesMergeToTheWhole(checks, collection: "docs", "random, indexed")
    }
}
