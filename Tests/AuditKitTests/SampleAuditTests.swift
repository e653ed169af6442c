import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

@testable import AuditKit

/// The shipped spec's audit of the sample database reports exactly the defects the generator put in.
final class SampleAuditTests: XCTestCase {
    static var client: MongoClient!
    static var databaseName = ""
    static var manifest = SampleManifest()
    static var report: AuditReport!

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

    /// The whole number a finding's title starts with.
    func leadingCount(_ check: String, containing text: String) -> Int? {
        guard let title = findings(check).first(where: { $0.title.contains(text) })?.title else { return nil }
        return Int(title.prefix { $0.isNumber })
    }

    func testLiveHistoricCountsMatchTheGenerator() throws {
        let m = Self.manifest
        let summary = try XCTUnwrap(findings("live_historic").first { $0.severity == .info })
        XCTAssertEqual(summary.title, "\(m.live) live and \(m.historic) historic recordings")
        XCTAssertEqual(leadingCount("live_historic", containing: "end before they start"), m.endBeforeStart)
        XCTAssertEqual(leadingCount("live_historic", containing: "start in the future"), m.startInFuture)
        XCTAssertEqual(leadingCount("live_historic", containing: "started more than 30 days ago"), m.liveStartedLongAgo)
        XCTAssertEqual(leadingCount("live_historic", containing: "deleted recording(s) are still live"), m.deletedButLive)
    }

    func testValueRulesUniqueValuesAndReferencesMatchTheGenerator() {
        let m = Self.manifest
        XCTAssertEqual(leadingCount("value_rules", containing: "'channels.min'"), m.channelMinZero)
        XCTAssertEqual(leadingCount("value_rules", containing: "'num_samples_per_trace'"), m.numSamplesNotPowerOfTwo)
        XCTAssertEqual(leadingCount("value_rules", containing: "start time not in the future"), m.startInFuture)
        XCTAssertNil(leadingCount("value_rules", containing: "'dtype'"), "null dtypes are completeness findings, not rule violations")
        XCTAssertEqual(leadingCount("unique_values", containing: "'uuid'"), m.duplicatedUUIDs)
        XCTAssertEqual(findings("unique_values").first?.details["extraDocuments"], String(m.duplicateRecordings))
        XCTAssertEqual(leadingCount("references", containing: "reference a recordings.uuid"), m.orphanMetadata)
    }

    /// Above its memory budget, unique_values keeps a Bloom filter and verifies candidates with a query: the
    /// counts must be the same as the exact table's.
    func testUniqueValuesCountsAreTheSameThroughTheBloomFilter() throws {
        let spec = try AuditSpec(text: "version: 1\nchecks:\n  - check: unique_values\n    collection: recordings\n    field: uuid\n", file: "t.yml")
        var check = try XCTUnwrap(spec.checks.first?.check as? UniqueValuesCheck)
        let context = AuditContext(database: Self.client.database(Self.databaseName), maxTimeMS: 10_000)
        let exact = try XCTUnwrap(try check.run(in: context, severity: .high).first)
        check.exactTableBytes = 0
        let bloom = try XCTUnwrap(try check.run(in: context, severity: .high).first)
        XCTAssertEqual(exact.details["method"], "hash table")
        XCTAssertEqual(bloom.details["method"], "Bloom filter and a query")
        XCTAssertEqual(bloom.title, exact.title)
        XCTAssertEqual(bloom.details["extraDocuments"], String(Self.manifest.duplicateRecordings))
    }

    func testFieldCompletenessCountsMatchTheGenerator() throws {
        let m = Self.manifest
        let numSamples = try XCTUnwrap(findings("field_completeness").first { $0.title.contains("'num_samples_per_trace'") })
        XCTAssertEqual(numSamples.details["missing"]?.hasPrefix("\(m.numSamplesMissing) of \(m.recordings)"), true, numSamples.details.description)
        XCTAssertEqual(numSamples.details["null"]?.hasPrefix("\(m.numSamplesNull) of "), true)
        let sampleRate = try XCTUnwrap(findings("field_completeness").first { $0.title.contains("'sample_rate'") })
        XCTAssertEqual(sampleRate.details["missing"]?.hasPrefix("\(m.sampleRateMissing) of "), true)
        let dtype = try XCTUnwrap(findings("field_completeness").first { $0.title.contains("'dtype'") })
        XCTAssertEqual(dtype.details["null"]?.hasPrefix("\(m.dtypeNull) of "), true)
        XCTAssertFalse(findings("field_completeness").contains { $0.title.contains("'end_time'") }, "end_time allows 5% incomplete")
        let undeclared = try XCTUnwrap(findings("field_completeness").first { $0.title.contains("not declared") })
        for field in ["name", "site", "gauge_length", "created_at", "tags"] {
            XCTAssertTrue(undeclared.details["mostFrequent"]?.contains(field) ?? false, field)
        }
    }

    func testIndexChecksAndQueryPlansSeeTheMissingIndexes() {
        let missing = findings("critical_indexes").filter { $0.title.contains("is missing") }.compactMap(\.indexToCreate)
        XCTAssertEqual(missing.count, 3)
        XCTAssertTrue(findings("query_plans").contains { $0.title == "query 'by uuid' scans the whole collection (COLLSCAN)" })
        XCTAssertFalse(findings("query_plans").contains { $0.title.contains("'by time range' scans") }, "start_time_1 serves it")
        XCTAssertEqual(Self.report.checks.filter { $0.status == .notRun }.map(\.check), [])
        XCTAssertEqual(Self.report.exitCode, AuditExitCode.findings.rawValue)
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
        let text = try XCTUnwrap(live.details["live"])
        XCTAssertTrue(text.hasPrefix("~"), text)
        XCTAssertTrue(text.contains("95% CI") && text.contains("sample of 1000"), text)
        // The interval must hold the true share (a 95% interval misses now and then; the generator's share
        // is 3.3%, and the test widens nothing: it checks the interval the report prints).
        let summary = ScanSummary(scanned: 1_000, total: Self.manifest.recordings, sampled: true)
        let (low, high) = summary.wilsonInterval(33)
        XCTAssertLessThan(low, 0.033)
        XCTAssertGreaterThan(high, 0.033)
    }
}
