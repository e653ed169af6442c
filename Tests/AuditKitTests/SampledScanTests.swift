import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// A sample above 5% of a collection (which the server would draw by sorting the whole collection on
/// random keys) is drawn by keeping each document with one probability (`$rand`) and sampling those kept:
/// still exactly the size asked, without repeats, and a different sample each time.
final class SampledScanTests: XCTestCase {
    static let documents = 2_000
    static let sample = 400

    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("sampledscan"))
        try database.collection("metadata").insertMany((0..<Self.documents).map { ["n": .int32(Int32($0)), "ref": .string("r\($0 % 7)")] })
    }

    override func tearDownWithError() throws {
        _ = try? database?.runCommand(["profile": 0])
        try database?.drop()
    }

    /// `n` is unique in the collection: a sample with a repeated document would report a duplicate.
    static let spec = """
        version: 1
        checks:
          - {check: field_completeness, collection: metadata, fields: {n: {types: [int]}}}
          - {check: unique_values, collection: metadata, field: n}
        """

    func sampledAudit() throws -> AuditReport {
        try Auditor(spec: try AuditSpec(text: Self.spec, file: "s.yml"), scanOptions: ScanOptions(sampleSize: Self.sample))
            .run(on: client, database: database.name, failOn: .high)
    }

    /// The `n` of each document of the sample, read through the checks' own pass.
    func sampledValues() throws -> [Int] {
        let values = NValues()
        let scan = try CollectionScan(
            collection: database.collection("metadata"), checks: [NCollector(values: values)],
            context: AuditContext(database: database, maxTimeMS: 60_000), options: ScanOptions(sampleSize: Self.sample), maxTimeMS: 60_000)
        let summary = try scan.run()
        XCTAssertEqual(summary.scanned, Self.sample)
        XCTAssertEqual(summary.total, Self.documents)
        XCTAssertTrue(summary.sampled)
        return values.seen
    }

    func testTheShareIsUsedOnlyWhereTheServerWouldSortTheWholeCollection() throws {
        XCTAssertNil(CollectionScan.bernoulliShare(sample: 10_000, of: 1_000_000), "up to 5% the server's random cursor draws it")
        XCTAssertNil(CollectionScan.bernoulliShare(sample: 50, of: 100), "a collection of 100 documents or fewer")
        XCTAssertNil(CollectionScan.bernoulliShare(sample: 1_900, of: 2_000), "nearly all of the collection")
        let share = try XCTUnwrap(CollectionScan.bernoulliShare(sample: 10_000, of: 100_000))
        // 5 standard deviations of the kept count above the sample, and 2% more.
        XCTAssertEqual(share * 100_000, (10_000 + 500 + 10) * 1.02, accuracy: 0.001)
    }

    func testASampleAboveFivePercentHasTheSizeAskedWithoutRepeats() throws {
        let first = try sampledValues()
        XCTAssertEqual(first.count, Self.sample)
        XCTAssertEqual(Set(first).count, Self.sample, "no document twice")
        XCTAssertTrue(first.allSatisfy { (0..<Self.documents).contains($0) })
        let second = try sampledValues()
        XCTAssertNotEqual(Set(first), Set(second), "two samples of 400 out of 2000 are the same with probability ~0")
    }

    func testTheAuditDrawsItWithRandAndReportsTheSample() throws {
        _ = try database.runCommand(["profile": 2, "slowms": 0])
        let report = try sampledAudit()
        _ = try database.runCommand(["profile": 0])
        for result in report.checks {
            XCTAssertEqual(result.sample, CheckResult.Sample(size: Self.sample, of: Self.documents), result.check)
        }
        let unique = try XCTUnwrap(report.checks.first { $0.check == "unique_values" })
        XCTAssertEqual(unique.metrics["documentsScanned"], .count(Self.sample))
        XCTAssertFalse(unique.findings.contains { $0.kind.contains("dup") }, "\(unique.findings.map(\.title))")
        let pipelines = try database.collection("system.profile").find(["command.aggregate": "metadata"]) { try $0.all() }
            .compactMap { $0.value(at: "command.pipeline")?.arrayValue }
        XCTAssertEqual(pipelines.count, 1, "one aggregation draws the sample")
        let first = try XCTUnwrap(pipelines.first?.first?.documentValue)
        XCTAssertNotNil(first.value(at: "$match.$expr.$lt"), "the sample starts with the $rand filter: \(first.relaxedJSON)")
        XCTAssertTrue(first.relaxedJSON.contains("$rand"), first.relaxedJSON)
    }
}

/// Collects the `n` of every document its pass visits.
final class NValues: @unchecked Sendable {
    var seen: [Int] = []
}

struct NCollector: DocumentCheck {
    static let description = CheckDescription(
        identifier: "n_collector", name: "n", summary: "test", defaultSeverity: .info, needs: "", options: [])
    static let examples: [CheckExample] = []
    let values: NValues
    init(values: NValues) { self.values = values }
    init(options: SpecFields) throws { values = NValues() }
    var collection: String? { "metadata" }
    var fieldsRead: [String] { ["n"] }

    func makeAccumulator(context: AuditContext, fields: FieldReader, expectedDocuments: Int) -> any DocumentAccumulator {
        Collector(values: values, slot: fields.index(of: "n")!)
    }

    final class Collector: DocumentAccumulator {
        let values: NValues
        let slot: Int
        init(values: NValues, slot: Int) {
            self.values = values
            self.slot = slot
        }
        func visit(_ document: DocumentView, fields: FieldReader) {
            if let number = fields.value(slot)?.intValue { values.seen.append(number) }
        }
        func merge(_ other: any DocumentAccumulator) {}
        func output(severity: Severity, scan: ScanSummary, context: AuditContext) throws -> CheckOutput { CheckOutput(findings: []) }
    }
}
