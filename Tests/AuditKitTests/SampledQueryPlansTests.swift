import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// In a sampled audit, `query_plans` still executes each index-served query once under explain
/// `executionStats`, but over its first documents only, and says so; an exact audit executes it in full.
final class SampledQueryPlansTests: XCTestCase {
    static let documents = 3_000

    var client: MongoClient!
    var database: MongoDatabase!

    override func setUpWithError() throws {
        client = try TestServer.client()
        database = client.database(TestServer.uniqueDatabaseName("sampledplans"))
        try database.collection("recordings").insertMany((0..<Self.documents).map { ["t": .int32(Int32($0))] })
        try database.runCommand(CriticalIndexesCheck.createIndexes(["t"]))
    }

    override func tearDownWithError() throws { try database?.drop() }

    static let spec = """
        version: 1
        checks:
          - check: query_plans
            collection: recordings
            target_ms: 10000
            limit_ms: 10000
            runs: 2
            queries:
              - {name: every t, filter: {t: {$gte: 0}}, sort: {t: 1}}
        """

    func latencyFinding(sampleSize: Int?) throws -> Finding {
        let spec = try AuditSpec(text: Self.spec, file: "plans.yml")
        let check = try XCTUnwrap(spec.checks.first?.check as? QueryPlansCheck)
        let context = AuditContext(database: database, maxTimeMS: 60_000, sampleSize: sampleSize)
        let output = try check.run(in: context, severity: .high)
        XCTAssertFalse(output.findings.contains { $0.kind == "collection_scan" }, "the index on t serves the query")
        return try XCTUnwrap(output.findings.first { $0.kind == "query_latency" && $0.subject == "every t" }, "\(output.findings.map(\.id))")
    }

    func count(_ metric: Metric?) -> Int? {
        if case .count(let value)? = metric { return value }
        return nil
    }

    func testASampledAuditExecutesEachQueryOverItsFirstDocumentsAndSaysSo() throws {
        let finding = try latencyFinding(sampleSize: 500)
        XCTAssertEqual(count(finding.metrics["returned"]), QueryPlansCheck.sampledExecutionLimit)
        XCTAssertEqual(count(finding.metrics["keysExamined"]), QueryPlansCheck.sampledExecutionLimit)
        XCTAssertEqual(count(finding.metrics["executionLimit"]), QueryPlansCheck.sampledExecutionLimit)
        XCTAssertEqual(finding.fact("execution"), QueryPlansCheck.sampledExecutionFact)
        XCTAssertEqual(finding.fact("plan"), "index t_1")
    }

    func testAnExactAuditExecutesEachQueryInFull() throws {
        let finding = try latencyFinding(sampleSize: nil)
        XCTAssertEqual(count(finding.metrics["returned"]), Self.documents)
        XCTAssertEqual(count(finding.metrics["docsExamined"]), Self.documents)
        XCTAssertNil(finding.metrics["executionLimit"])
        XCTAssertNil(finding.fact("execution"))
    }

    /// The auditor tells the check when the audit samples its collection (`--sample`, `--max-documents`), and not otherwise.
    func testTheAuditorPassesTheSample() throws {
        let spec = try AuditSpec(text: Self.spec, file: "plans.yml")
        for sampleSize in [500, nil] {
            let report = try Auditor(spec: spec, scanOptions: ScanOptions(sampleSize: sampleSize)).run(on: client, database: database.name, failOn: .high)
            let finding = try XCTUnwrap(report.checks.first?.findings.first { $0.kind == "query_latency" && $0.subject == "every t" })
            XCTAssertEqual(count(finding.metrics["returned"]), sampleSize == nil ? Self.documents : QueryPlansCheck.sampledExecutionLimit)
        }
        // A collection beyond --max-documents is sampled for query_plans too; one within it is not.
        for (limit, returned) in [(500, QueryPlansCheck.sampledExecutionLimit), (5_000, Self.documents)] {
            var auditor = Auditor(spec: spec)
            auditor.maxDocuments = limit
            let report = try auditor.run(on: client, database: database.name, failOn: .high)
            let finding = try XCTUnwrap(report.checks.first?.findings.first { $0.kind == "query_latency" && $0.subject == "every t" })
            XCTAssertEqual(count(finding.metrics["returned"]), returned, "--max-documents \(limit)")
        }
    }
}
