import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import AuditKit

/// The shipped spec's audit of the sample database reports exactly the defects the generator put in.
final class SampleAuditTests: XCTestCase {
    nonisolated(unsafe) static var client: MongoClient!
    nonisolated(unsafe) static var databaseName = ""
    nonisolated(unsafe) static var manifest = SampleManifest()
    nonisolated(unsafe) static var report: AuditReport!

    override class func setUp() {
        super.setUp()
        do {
            client = try TestServer.client()
            databaseName = TestServer.uniqueDatabaseName("sampleaudit")
            manifest = try SampleDatabase(recordingCount: 4_000).create(in: client.database(databaseName))
            let spec = try AuditSpec.load(path: repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path)
            report = try Auditor(spec: spec).run(on: client, database: databaseName, failOn: .high)
        } catch {
            XCTFail("setting up the sample audit failed: \(error)")
        }
    }

    override class func tearDown() {
        try? client?.database(databaseName).drop()
        super.tearDown()
    }

    func findings(_ check: String) -> [Finding] { Self.report.allFindings.filter { $0.check == check } }

    /// A figure of the finding with this id (a proportion gives its count); nil when there is no such finding.
    func figure(_ id: String, _ metric: String, in report: AuditReport = SampleAuditTests.report) -> Double? {
        report.allFindings.first { $0.id == id }?.metrics[metric]?.number
    }

    func testLiveHistoricCountsMatchTheGenerator() throws {
        let m = Self.manifest
        XCTAssertEqual(figure("live_historic/recordings/live_historic", "live"), Double(m.live))
        XCTAssertEqual(figure("live_historic/recordings/live_historic", "historic"), Double(m.historic))
        XCTAssertEqual(figure("live_historic/recordings/end_before_start", "count"), Double(m.endBeforeStart))
        XCTAssertEqual(figure("live_historic/recordings/start_in_future", "count"), Double(m.startInFuture))
        XCTAssertEqual(figure("live_historic/recordings/live_too_long", "count"), Double(m.liveStartedLongAgo))
        XCTAssertEqual(figure("live_historic/recordings/deleted_live", "count"), Double(m.deletedButLive))
    }

    func testValueRulesUniqueValuesAndReferencesMatchTheGenerator() {
        let m = Self.manifest
        XCTAssertEqual(figure("value_rules/recordings/rule_violated/channels.min >= 1", "violations"), Double(m.channelMinZero))
        let powers = "num_samples_per_trace in {128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}"
        XCTAssertEqual(figure("value_rules/recordings/rule_violated/\(powers)", "violations"), Double(m.numSamplesNotPowerOfTwo))
        XCTAssertEqual(figure("value_rules/recordings/rule_violated/start time not in the future", "violations"), Double(m.startInFuture))
        XCTAssertFalse(
            findings("value_rules").contains { $0.subject?.hasPrefix("dtype") == true }, "null dtypes are completeness findings, not rule violations")
        XCTAssertEqual(figure("unique_values/recordings/duplicate_values/uuid", "duplicatedValues"), Double(m.duplicatedUUIDs))
        XCTAssertEqual(figure("unique_values/recordings/duplicate_values/uuid", "extraDocuments"), Double(m.duplicateRecordings))
        XCTAssertEqual(
            figure("references/metadata/orphan_references/recording_uuid->recordings.uuid", "orphanDocuments"), Double(m.orphanMetadata))
    }

    /// Above its memory budget, unique_values keeps a Bloom filter and verifies candidates with a query: the
    /// counts must be the same as the exact table's.
    func testUniqueValuesCountsAreTheSameThroughTheBloomFilter() throws {
        let spec = try AuditSpec(text: "version: 1\nchecks:\n  - check: unique_values\n    collection: recordings\n    field: uuid\n", file: "t.yml")
        var check = try XCTUnwrap(spec.checks.first?.check as? UniqueValuesCheck)
        let context = AuditContext(database: Self.client.database(Self.databaseName), maxTimeMS: 10_000)
        let exact = try XCTUnwrap(try check.run(in: context, severity: .high).findings.first)
        check.exactTableBytes = 0
        let bloom = try XCTUnwrap(try check.run(in: context, severity: .high).findings.first)
        XCTAssertEqual(exact.fact("method"), "hash table")
        XCTAssertEqual(bloom.fact("method"), "Bloom filter and a query")
        XCTAssertEqual(bloom.id, exact.id)
        XCTAssertEqual(bloom.metrics, exact.metrics)
        XCTAssertEqual(bloom.metrics["extraDocuments"]?.number, Double(Self.manifest.duplicateRecordings))
    }

    func testFieldCompletenessCountsMatchTheGenerator() throws {
        let m = Self.manifest
        let id = "field_completeness/recordings/incomplete_field/"
        XCTAssertEqual(figure(id + "num_samples_per_trace", "missing"), Double(m.numSamplesMissing))
        XCTAssertEqual(figure(id + "num_samples_per_trace", "null"), Double(m.numSamplesNull))
        XCTAssertEqual(figure(id + "sample_rate", "missing"), Double(m.sampleRateMissing))
        XCTAssertEqual(figure(id + "dtype", "null"), Double(m.dtypeNull))
        XCTAssertNil(figure(id + "end_time", "missing"), "end_time allows 5% incomplete")
        let undeclared = try XCTUnwrap(findings("field_completeness").first { $0.kind == "undeclared_fields" })
        for field in ["name", "site", "gauge_length", "created_at", "tags"] {
            XCTAssertNotNil(undeclared.metrics[field], field)
        }
    }

    func testIndexChecksAndQueryPlansSeeTheMissingIndexes() {
        let missing = findings("critical_indexes").filter { $0.kind == "missing_index" }.compactMap(\.indexToCreate)
        XCTAssertEqual(missing.count, 3)
        XCTAssertTrue(findings("query_plans").contains { $0.id == "query_plans/recordings/collection_scan/by uuid" })
        XCTAssertFalse(findings("query_plans").contains { $0.id == "query_plans/recordings/collection_scan/by time range" }, "start_time_1 serves it")
        XCTAssertEqual(Self.report.checks.filter { $0.status == .notRun }.map(\.check), [])
        XCTAssertEqual(Self.report.outcome, .failed)
    }

    /// Ids come from what a finding is about, never from its figures: more defects, same ids.
    func testFindingIDsStayTheSameWhenCountsChange() throws {
        let database = Self.client.database(Self.databaseName + "_drift")
        defer { try? database.drop() }
        try SampleDatabase(recordingCount: 2_000).create(in: database)
        let spec = try AuditSpec.load(path: repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path)
        let before = try Auditor(spec: spec).run(on: Self.client, database: database.name, failOn: .high)
        try database.runCommand(["delete": "recordings", "deletes": [["q": ["channels.min": 0], "limit": 1]]])
        let after = try Auditor(spec: spec).run(on: Self.client, database: database.name, failOn: .high)
        let ids = { (report: AuditReport) in report.allFindings.filter { $0.kind != "ping_latency" && $0.kind != "query_latency" }.map(\.id) }
        XCTAssertEqual(Set(ids(before)), Set(ids(after)))
        XCTAssertEqual(Set(ids(before)).count, ids(before).count, "ids are unique within a report")
        let rule = "value_rules/recordings/rule_violated/channels.min >= 1"
        XCTAssertEqual(figure(rule, "violations", in: after), figure(rule, "violations", in: before).map { $0 - 1 })
    }
    func testOnePassPerCollectionReadsOnlyTheFieldsItNeeds() throws {
        let spec = try AuditSpec.load(path: repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path)
        let context = AuditContext(database: Self.client.database(Self.databaseName), maxTimeMS: 10_000)
        let checks = spec.checks.compactMap { $0.check as? any DocumentCheck }.filter { $0.collection == "recordings" }
        XCTAssertEqual(checks.count, 4)
        let lean = try CollectionScan(
            collection: context.database.collection("recordings"), checks: checks.filter { !$0.readsWholeDocuments },
            context: context, options: ScanOptions(), maxTimeMS: 10_000)
        XCTAssertEqual(lean.projection?.keys.contains("channels.min"), true)
        XCTAssertEqual(lean.projection?.keys.contains("name"), false, "fields no check reads stay on the server")
    }

    func testSampledAuditReportsEstimatesWithConfidenceIntervals() throws {
        let spec = try AuditSpec.load(path: repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path)
        let sampled = try Auditor(spec: spec, scanOptions: ScanOptions(sampleSize: 1_000))
            .run(on: Self.client, database: Self.databaseName, failOn: .high)
        XCTAssertFalse(sampled.exact)
        XCTAssertEqual(sampled.sampleSize, 1_000)
        let live = try XCTUnwrap(sampled.allFindings.first { $0.check == "live_historic" && $0.severity == .info })
        guard case .proportion(let estimate)? = live.metrics["live"] else { return XCTFail("live is a proportion") }
        XCTAssertFalse(estimate.exact)
        XCTAssertEqual(estimate.of, 1_000)
        XCTAssertEqual(estimate.total, Self.manifest.recordings)
        XCTAssertEqual(estimate.estimate, Int((estimate.share * Double(Self.manifest.recordings)).rounded()))
        let (low, high) = (try XCTUnwrap(estimate.low), try XCTUnwrap(estimate.high))
        XCTAssertTrue(low <= estimate.share && estimate.share <= high, "\(low) \(estimate.share) \(high)")
        // The interval of a 3.3% share in a sample of 1000 holds it (Wilson score interval, computed apart).
        let (knownLow, knownHigh) = Proportion.wilsonInterval(count: 33, of: 1_000)
        XCTAssertEqual(knownLow, 0.02359, accuracy: 0.0001)
        XCTAssertEqual(knownHigh, 0.04598, accuracy: 0.0001)
    }
}
