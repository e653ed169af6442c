import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// A check registered beside the built-in ones that reports the time limit its server work runs under.
struct TimeLimitProbeCheck: Check {
    static let description = CheckDescription(
        identifier: "time_limit_probe", name: "Time limit probe", summary: "Reports the time limit in force.", defaultSeverity: .low,
        needs: "nothing", options: [Options.collection])

    enum Options {
        static let collection = TypedOption<String>.collection()
    }

    let collection: String?

    init(options: SpecFields) throws { collection = try options.required(Options.collection) }

    func run(in context: AuditContext, severity: Severity) throws -> CheckOutput {
        CheckOutput(metrics: ["maxTimeMS": .count(context.maxTimeMS)])
    }
}

final class EngineTests: XCTestCase {
    let registry = try! CheckRegistry.builtIn.registering(TimeLimitProbeCheck.self)

    func testRegisteringACheckWhoseIdentifierIsTakenIsRefused() {
        XCTAssertThrowsError(try registry.registering(TimeLimitProbeCheck.self)) { error in
            XCTAssertEqual(error as? CheckRegistryError, .duplicateIdentifier("time_limit_probe"))
        }
        XCTAssertThrowsError(try AuditSpec(text: "version: 1\nchecks:\n  - check: time_limit_probe\n    collection: c\n", file: "t.yml")) {
            XCTAssertTrue("\($0)".contains("unknown check 'time_limit_probe'"), "\($0)")
        }
    }

    /// Each check's `time_limit_ms` is the limit its server operations carry; without one, the audit's.
    func testEachChecksTimeLimitIsTheOneItsWorkRunsUnder() throws {
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - check: time_limit_probe
                    collection: a
                    time_limit_ms: 1234
                  - check: time_limit_probe
                    collection: b
                """, file: "t.yml", registry: registry)
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("limits"))
        defer { try? database.drop() }
        for name in ["a", "b"] { try database.runCommand(["insert": .string(name), "documents": [["x": 1]]]) }
        let report = try Auditor(spec: spec, maxTimeMS: 4321).run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(report.checks.map { $0.metrics["maxTimeMS"] }, [.count(1234), .count(4321)])
        XCTAssertEqual(report.checks.map(\.specLine), [3, 6])
    }

    /// A document check's limit applies to its collection's shared pass: a pass under a 1 ms limit on a
    /// server that makes every operation with a time limit expire is reported as timed out, not fatal.
    func testADocumentCheckThatTimesOutIsNotRunAndTheAuditGoesOn() throws {
        let server = try LaunchedMongod()
        defer { server.stop() }
        let client = try server.client()
        try client.database("t").runCommand(["insert": "recordings", "documents": [["uuid": "a"]]])
        try client.database("admin").runCommand(["configureFailPoint": "maxTimeAlwaysTimeOut", "mode": "alwaysOn"])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - check: unique_values
                    collection: recordings
                    field: uuid
                    time_limit_ms: 1
                  - check: time_limit_probe
                    collection: recordings
                """, file: "t.yml", registry: registry)
        let report = try Auditor(spec: spec).run(on: client, database: "t", failOn: .high)
        XCTAssertEqual(report.checks.map(\.status), [.notRun, .passed])
        XCTAssertEqual(report.checks.first?.notRunCause, .timedOut)
        XCTAssertEqual(report.outcome, .incomplete)
    }

    /// A misspelled collection fails every check that names it, at the check's severity, and an empty one
    /// says that its document checks checked nothing: no silent pass.
    func testAMissingOrEmptyCollectionIsAFindingNotAPass() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("absent"))
        defer { try? database.drop() }
        try database.runCommand(["create": "empty"])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: critical_indexes, collection: recordngs, indexes: [{keys: {uuid: 1}}]}
                  - {check: field_completeness, collection: recordngs, fields: {uuid: {types: [string]}}}
                  - {check: value_rules, collection: recordngs, rules: [{field: n, min: 1}]}
                  - {check: unique_values, collection: recordngs, field: uuid}
                  - {check: live_historic, collection: recordngs}
                  - {check: references, collection: recordngs, field: r, to_collection: other}
                  - {check: query_plans, collection: recordngs, queries: [{name: q, filter: {uuid: a}}]}
                  - {check: index_hygiene, collection: recordngs}
                  - {check: unique_values, collection: empty, field: uuid, severity: medium}
                """, file: "t.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let missing = report.checks.dropLast()
        XCTAssertEqual(missing.map(\.status), Array(repeating: .failed, count: 8))
        for result in missing {
            XCTAssertEqual(result.findings.map(\.id), ["\(result.check)/recordngs/missing_collection"])
            XCTAssertEqual(result.findings.first?.severity, result.severity)
        }
        XCTAssertEqual(report.checks.last?.findings.map(\.id).filter { $0.hasSuffix("empty_collection") }, ["unique_values/empty/empty_collection"])
        XCTAssertEqual(report.checks.last?.findings.first?.severity, .medium)
        XCTAssertEqual(report.outcome, .failed)
    }

    /// The guards: a collection above its document limit is audited from a sample and says so; a spent
    /// budget starts nothing new; passes over different collections side by side give the same figures.
    func testMaxDocumentsBudgetAndParallelPasses() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("guards"))
        defer { try? database.drop() }
        try database.collection("big").insertMany((0..<2_000).map { ["uuid": .string("u\($0 % 1_900)")] })
        try database.collection("small").insertMany((0..<100).map { ["uuid": .string("s\($0)")] })
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: unique_values, collection: big, field: uuid}
                  - {check: unique_values, collection: small, field: uuid}
                  - {check: critical_indexes, collection: big, indexes: [{keys: {_id: 1}}]}
                """, file: "t.yml")
        var auditor = Auditor(spec: spec)
        auditor.maxDocuments = 500
        let sampled = try auditor.run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(sampled.checks.map(\.sample), [CheckResult.Sample(size: 500, of: 2_000), nil, nil])
        XCTAssertFalse(sampled.exact)
        XCTAssertEqual(sampled.checks[0].metrics["documentsScanned"], .count(500))
        if case .proportion(let extra)? = sampled.checks[0].metrics["extraDocuments"] { XCTAssertFalse(extra.exact) }

        var sequential = Auditor(spec: spec)
        sequential.parallelScans = 1
        var parallel = Auditor(spec: spec)
        parallel.parallelScans = 2
        let one = try sequential.run(on: client, database: database.name, failOn: .high)
        let two = try parallel.run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(one.checks.map(\.metrics), two.checks.map(\.metrics))
        XCTAssertEqual(one.allFindings.map(\.id), two.allFindings.map(\.id))
        XCTAssertEqual(one.allFindings.map(\.metrics), two.allFindings.map(\.metrics))
        XCTAssertTrue(one.exact)
    }

    /// A budget that runs out while a pass is under way: that pass finishes, nothing new starts.
    func testABudgetThatRunsOutMidAuditStartsNothingNew() throws {
        let server = try LaunchedMongod()
        defer { server.stop() }
        let client = try server.client()
        let database = client.database("budget")
        try database.collection("a").insertMany((0..<50).map { ["uuid": .string("u\($0)")] })
        try database.collection("b").insertMany((0..<50).map { ["uuid": .string("u\($0)")] })
        try client.database("admin").runCommand([
            "configureFailPoint": "failCommand", "mode": ["times": 1],
            "data": ["failCommands": ["find"], "blockConnection": true, "blockTimeMS": 1_500],
        ])
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: unique_values, collection: a, field: uuid}
                  - {check: unique_values, collection: b, field: uuid}
                  - {check: index_hygiene, collection: a}
                """, file: "t.yml")
        var auditor = Auditor(spec: spec)
        auditor.budgetSeconds = 1
        let report = try auditor.run(on: client, database: "budget", failOn: .high)
        XCTAssertEqual(report.checks.map(\.status), [.passed, .notRun, .notRun])
        XCTAssertEqual(report.checks.map(\.notRunCause), [nil, .overBudget, .overBudget])
        XCTAssertTrue(report.checks[1].reason?.contains("budget of 1 s was spent") == true, report.checks[1].reason ?? "")
        XCTAssertEqual(report.outcome, .incomplete)
    }

    /// `--plan` knows the cost before paying it: counts from metadata, fields, sampling, and no more
    /// documents read than its calibration read.
    func testThePlanReadsMetadataAndACalibrationOnly() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("plan"))
        defer { try? database.drop() }
        try database.collection("big").insertMany((0..<5_000).map { ["uuid": .string("u\($0)"), "n": .int32(Int32($0))] })
        let spec = try AuditSpec(
            text: """
                version: 1
                checks:
                  - {check: unique_values, collection: big, field: uuid}
                  - {check: value_rules, collection: big, rules: [{field: n, min: 0}], max_documents: 1000}
                  - {check: unique_values, collection: nowhere, field: uuid}
                  - {check: critical_indexes, collection: big, indexes: [{keys: {uuid: 1}}]}
                """, file: "t.yml")
        let returned = { () throws -> Int in try client.database("admin").runCommand(["serverStatus": 1]).value(at: "metrics.document.returned")?.intValue ?? -1
        }
        let before = try returned()
        let plan = try Auditor(spec: spec).plan(on: client, database: database.name)
        let after = try returned()
        XCTAssertLessThanOrEqual(
            after - before, AuditPlan.calibrationDocuments + plan.passes.count,
            "only the calibration read (and one $collStats reply per collection) returns documents")
        let big = try XCTUnwrap(plan.passes.first { $0.collection == "big" })
        XCTAssertEqual(big.documents, 5_000)
        XCTAssertEqual(big.documentsToRead, 1_000)
        XCTAssertTrue(big.sampled)
        XCTAssertEqual(big.fields, ["n", "uuid"])
        XCTAssertEqual(big.checks, ["unique_values", "value_rules"])
        XCTAssertNotNil(big.estimatedSeconds)
        XCTAssertEqual(plan.passes.first { $0.collection == "nowhere" }?.exists, false)
        XCTAssertEqual(plan.otherChecks.map(\.check), ["critical_indexes"])
    }

    /// More distinct top-level names than the reader keeps (10,000): no trap, and the shared bucket of the
    /// rest counts documents, so its share stays a share.
    func testMoreTopLevelNamesThanTheReaderKeepsAreCountedAsDocuments() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("names"))
        defer { try? database.drop() }
        try database.collection("r").insertMany(
            (0..<5).map { part in
                Document((part * 3_000..<(part + 1) * 3_000).map { ("f\($0)", BSONValue.int32(1)) } + [("uuid", .string("u\(part)"))])
            })
        let spec = try AuditSpec(
            text: "version: 1\nchecks:\n  - {check: field_completeness, collection: r, fields: {uuid: {types: [string]}}}\n", file: "t.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let undeclared = try XCTUnwrap(report.allFindings.first { $0.kind == "undeclared_fields" })
        // Names are kept in the order documents bring them (_id, f0..f2999, uuid, then 3,000 new ones per
        // document): the 10,000 kept run out inside the fourth document, so the fourth and fifth hold names
        // beyond them.
        XCTAssertEqual(undeclared.metrics["(other field names)"], .proportion(Proportion(count: 2, of: 5)))
        for entry in undeclared.metrics.entries {
            guard case .proportion(let share) = entry.metric else { continue }
            XCTAssertLessThanOrEqual(share.count, 5, "\(entry.name): at most one count per document")
        }
    }
}
