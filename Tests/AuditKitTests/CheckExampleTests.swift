import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Every built-in check's examples, each on a fresh database of the real server.
final class CheckExampleTests: XCTestCase {
    func testEveryRegisteredCheckHasPassingAndFailingExamples() {
        for type in CheckRegistry.builtIn.checks {
            let examples = type.examples
            XCTAssertTrue(examples.contains { $0.passes }, "\(type.description.identifier) has no passing example")
            XCTAssertTrue(examples.contains { !$0.passes }, "\(type.description.identifier) has no failing example")
        }
    }

    /// Each example reports exactly its expected findings above info (by id), with the expected figures.
    func testExamplesAgainstTheRealServer() throws {
        let client = try TestServer.client()
        for type in CheckRegistry.builtIn.checks {
            let identifier = type.description.identifier
            for example in type.examples {
                let database = client.database(TestServer.uniqueDatabaseName("example"))
                defer { try? database.drop() }
                for command in example.setup { try database.runCommand(command) }
                let spec = try AuditSpec(text: Self.spec(identifier, example.entry), file: "example.yml")
                let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .low)
                let context = "\(identifier): \(example.title)"
                let expectedIDs = example.expect.map { "\(identifier)/\($0.id)" }
                let reported = report.allFindings.filter { $0.severity > .info }.map(\.id)
                let pinnedInfo = Set(expectedIDs).intersection(report.allFindings.filter { $0.severity == .info }.map(\.id))
                XCTAssertEqual(Set(reported).union(pinnedInfo), Set(expectedIDs), context)
                for expected in example.expect {
                    guard let finding = report.allFindings.first(where: { $0.id == "\(identifier)/\(expected.id)" }) else { continue }
                    XCTAssertNil(expected.mismatch(finding), context)
                }
                // Every figure a finding above info carries is declared by its check, with its direction.
                for finding in report.allFindings where finding.severity > .info {
                    for (name, _) in finding.metrics.entries { XCTAssertNotNil(type.description.metric(named: name), "\(context): \(name)") }
                }
                XCTAssertEqual(report.checks.first?.status, example.passes ? .passed : .failed, context)
            }
        }
    }

    static func spec(_ identifier: String, _ entry: String) -> String {
        let indented = entry.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n")
        return "version: 1\nchecks:\n  - check: \(identifier)\n\(indented)\n"
    }

    func testCriticalIndexFindingsSayWhatAndHowToFix() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("findings"))
        defer { try? database.drop() }
        try database.runCommand(CriticalIndexesCheck.createIndexes(["uuid"]))
        try database.runCommand([
            "createIndexes": "recordings", "indexes": [["key": ["start_time": 1, "site": 1], "name": "start_site"]],
        ])
        let spec = try AuditSpec(
            text: Self.spec(
                "critical_indexes", "collection: recordings\nindexes: [{keys: {start_time: 1}}, {keys: {uuid: 1}, unique: true}, {keys: {end_time: -1}}]"),
            file: "x.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let findings = report.allFindings
        XCTAssertEqual(findings.count, 3)
        let prefix = try XCTUnwrap(findings.first { $0.id == "critical_indexes/recordings/served_by_prefix/{start_time: 1}" })
        XCTAssertEqual(prefix.severity, .info)
        XCTAssertEqual(prefix.fact("servedBy"), "start_site")
        let unique = try XCTUnwrap(findings.first { $0.id == "critical_indexes/recordings/options_differ/{uuid: 1}" })
        XCTAssertEqual(unique.severity, .high)
        XCTAssertNotNil(unique.fact("existing"))
        XCTAssertNil(unique.indexToCreate, "a second index on the same keys cannot be created: the fix changes the existing one")
        let missing = try XCTUnwrap(findings.first { $0.id == "critical_indexes/recordings/missing_index/{end_time: -1}" })
        XCTAssertEqual(missing.indexToCreate, ["key": ["end_time": -1], "name": "end_time_-1"])
        XCTAssertEqual(
            missing.fix,
            "db.getSiblingDB(\"\(database.name)\").runCommand({ \"createIndexes\" : \"recordings\", \"indexes\" : [ { \"key\" : { \"end_time\" : -1 }, \"name\" : \"end_time_-1\" } ] })"
        )
        // The printed fix is the command that really fixes it.
        let fixCommand = try Document(json: #"{"createIndexes": "recordings", "indexes": [{"key": {"end_time": -1}, "name": "end_time_-1"}]}"#)
        try database.runCommand(fixCommand)
        let after = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        XCTAssertFalse(after.allFindings.contains { $0.subject == "{end_time: -1}" })
        XCTAssertEqual(report.outcome, .failed)
    }
}
