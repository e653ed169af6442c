import Foundation
import MongoKit
import TestSupport
import XCTest

@testable import AuditKit

/// Hostile names and values through every reporter: a GitHub log gets no command of its own, JUnit stays
/// XML 1.0, text and Markdown carry no raw control or bidi character, and a printed fix command holds each
/// name as one string literal (checked on the real server).
final class EscapingReportTests: XCTestCase {
    static let database = "db\n::error::x"
    static let collection = "rec\u{1B}[31m\u{9B}2J\u{202E}\n::error file=a::b"
    static let title = "bad value \u{FFFF}\u{FFFE}\u{0}\u{8}\u{85}\u{2028}"

    static func report() -> AuditReport {
        let finding = Finding(
            check: "critical_indexes", collection: collection, kind: "missing_index", subject: "{uuid: 1}", severity: .high,
            title: title, impact: "impact\n::warning::y\r\nz", fix: "fix\n::error::z",
            metrics: ["count": .count(2)], examples: [.string("v\u{1B}]0;t\u{7}\u{FFFF}")], facts: [("note", "f\u{9B}1m\u{FFFF}")])
        return AuditReport(
            database: database, target: "mongodb://h/", serverVersion: "6.0.5", specFile: "spec\n::error::s.yml",
            specSHA256: String(repeating: "ab", count: 32), startedAt: Date(timeIntervalSince1970: 1_800_000_000), durationSeconds: 1,
            failOn: .high,
            checks: [
                CheckResult(check: "critical_indexes", collection: collection, severity: .high, status: .failed, findings: [finding], specLine: 3),
                CheckResult(
                    check: "index_hygiene", collection: collection, severity: .low, status: .notRun, reason: "denied \u{FFFF}\n::error::r"),
            ])
    }

    /// No scalar a terminal, a log viewer or a bidi-aware editor would act on, other than the line feeds the
    /// format itself writes.
    static func actingScalars(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { scalar in
            (scalar.value < 0x20 && scalar != "\n") || (0x7F...0x9F).contains(scalar.value)
                || [0x2028, 0x2029, 0x202E, 0xFFFE, 0xFFFF].contains(scalar.value)
        }
    }

    func testGitHubOutputHasOnlyItsOwnCommandLines() throws {
        let output = try GitHubReporter().render(Self.report())
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 3, output)
        XCTAssertTrue(lines[0].hasPrefix("::error file=spec%0A%3A%3Aerror%3A%3As.yml,line=3,title="), String(lines[0]))
        XCTAssertTrue(lines[1].hasPrefix("::warning file="), String(lines[1]))
        XCTAssertEqual(lines[2], "mongo-audit: db\\u{a}::error::x failed")
        XCTAssertEqual(lines.filter { $0.hasPrefix("::") }.count, 2, "one command per finding and check not run, none forged")
        XCTAssertEqual(Self.actingScalars(output), [])
    }

    func testJUnitIsValidXMLWithCharactersXMLCannotHold() throws {
        let xml = try JUnitReporter().render(Self.report())
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("escaping-\(UUID()).xml")
        defer { try? FileManager.default.removeItem(at: file) }
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let xsd = repositoryRoot.appendingPathComponent("docs/junit.xsd").path
        let result = try runProcess("/usr/bin/env", ["xmllint", "--noout", "--schema", xsd, file.path])
        XCTAssertEqual(result.status, 0, result.stderr + xml)
        XCTAssertTrue(xml.contains("bad value \\u{ffff}\\u{fffe}\\u{0}\\u{8}"), xml)
        XCTAssertEqual(Self.actingScalars(xml), [])
    }

    func testTextMarkdownAndHTMLCarryNoActingCharacter() throws {
        for format in [ReportFormat.text, .markdown, .html] {
            let output = try format.reporter(colour: false).render(Self.report())
            XCTAssertEqual(Self.actingScalars(output), [], "\(format)")
            XCTAssertFalse(output.contains("\n::"), "\(format): no line of the data's own")
        }
        let text = try TextReporter(colour: false).render(Self.report())
        XCTAssertTrue(text.contains("rec\\u{1b}[31m\\u{9b}2J\\u{202e}\\u{a}::error file=a::b: bad value"), text)
    }

    /// SARIF and JSON are data formats: the names survive exactly, as JSON strings.
    func testSARIFAndJSONKeepTheNamesExactly() throws {
        for format in [ReportFormat.sarif, .json] {
            let output = try format.reporter().render(Self.report())
            XCTAssertEqual(Self.actingScalars(output).filter { $0.value < 0x20 || $0 == "\u{7F}" }, [], "\(format)")
            let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8))
            XCTAssertTrue("\(parsed)".contains("index_hygiene"))
        }
        let sarif = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try SARIFReporter().render(Self.report()).utf8)) as? [String: Any])
        let run = try XCTUnwrap((sarif["runs"] as? [[String: Any]])?.first)
        XCTAssertEqual((run["properties"] as? [String: Any])?["database"] as? String, Self.database)
    }
}

/// Fix commands name collections and indexes as string literals: a collection named like JavaScript
/// (`rec.drop();db.rec`) or holding a quote and a backslash is one literal that parses back to its name, and
/// the printed command, run as printed, fixes the collection it names.
final class FixCommandLiteralTests: XCTestCase {
    static let names = ["rec.drop();db.rec", "a\"b\\"]

    /// The string literal that starts right after `prefix` in `text`, parsed, and what follows it.
    static func literal(after prefix: String, in text: String) throws -> (value: String, rest: Substring) {
        let start = try XCTUnwrap(text.range(of: prefix), "\(prefix) in \(text)").upperBound
        var index = start
        XCTAssertEqual(text[index], "\"", text)
        index = text.index(after: index)
        while text[index] != "\"" { index = text.index(after: text[index] == "\\" ? text.index(after: index) : index) }
        let end = text.index(after: index)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data("[\(text[start..<end])]".utf8)) as? [String])
        return (parsed[0], text[end...])
    }

    func testCollectionNamesInFixCommandsAreStringLiterals() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("literals"))
        defer { try? database.drop() }
        var entries = ""
        for name in Self.names {
            try database.runCommand(["insert": .string(name), "documents": [["uuid": "a"], ["uuid": "a"]]])
            let quoted = "'" + name.replacingOccurrences(of: "'", with: "''") + "'"
            entries += "  - check: unique_values\n    collection: \(quoted)\n    field: uuid\n"
            entries += "  - check: critical_indexes\n    collection: \(quoted)\n    indexes: [{keys: {uuid: 1}}]\n"
        }
        let spec = try AuditSpec(text: "version: 1\nchecks:\n" + entries, file: "literals.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        for name in Self.names {
            let duplicates = try XCTUnwrap(report.allFindings.first { $0.check == "unique_values" && $0.collection == name && $0.fix != nil })
            let fix = try XCTUnwrap(duplicates.fix)
            XCTAssertFalse(fix.contains(").\(name)"), "never db.<name>: \(fix)")
            let sibling = try Self.literal(after: "db.getSiblingDB(", in: fix)
            XCTAssertEqual(sibling.value, database.name)
            XCTAssertTrue(sibling.rest.hasPrefix(").getCollection("), fix)
            let collection = try Self.literal(after: ").getCollection(", in: fix)
            XCTAssertEqual(collection.value, name, fix)
            XCTAssertTrue(collection.rest.hasPrefix(").aggregate([{$group: {_id: \"$uuid\""), fix)

            let missing = try XCTUnwrap(report.allFindings.first { $0.check == "critical_indexes" && $0.collection == name })
            let command = try XCTUnwrap(try FixCommandTests.commands(in: try XCTUnwrap(missing.fix)).first)
            XCTAssertEqual(command["createIndexes"], .string(name))
            try database.runCommand(command)
        }
        let fixed = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        XCTAssertEqual(
            fixed.allFindings.filter { $0.check == "critical_indexes" && $0.severity > .info }, [], "the printed commands fixed the named collections")
    }

    /// Field names are object keys of the printed filters: bare when plain, string literals otherwise.
    func testFieldNamesInPrintedFiltersAreKeysOrLiterals() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("keys"))
        defer { try? database.drop() }
        let start = Date().addingTimeInterval(-3600), end = Date().addingTimeInterval(-7200)
        try database.runCommand(["insert": "runs", "documents": [["t": ["s": .datetime(start), "e": .datetime(end)]]]])
        let spec = try AuditSpec(
            text: "version: 1\nchecks:\n  - check: live_historic\n    collection: runs\n    start_field: t.s\n    end_field: t.e\n", file: "keys.yml")
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .high)
        let finding = try XCTUnwrap(report.allFindings.first { $0.kind == "end_before_start" }, "\(report.allFindings.map(\.id))")
        XCTAssertTrue(finding.fix?.contains("{$expr: {$lt: [\"$t.e\", \"$t.s\"]}, \"t.e\": {$type: \"date\"}}") == true, finding.fix ?? "")
        XCTAssertTrue(finding.fix?.contains(".getCollection(\"runs\").find(") == true, finding.fix ?? "")
    }
}
