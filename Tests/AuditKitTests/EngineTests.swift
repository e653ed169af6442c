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
        let report = try Auditor(spec: spec, maxTimeMS: 4321).run(
            on: try TestServer.client(), database: TestServer.uniqueDatabaseName("limits"), failOn: .high)
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
}
