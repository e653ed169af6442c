import Foundation
import MongoKit
import SpecSupport
import TestSupport
import XCTest

@testable import AuditKit

/// A starter spec written from names and values that YAML reads differently when quoted by hand (NEL,
/// byte order mark, C1 controls, quotes, colons, `#`) parses back, with the spec loader, to the same names
/// and values, and passes on the database it came from.
final class StarterSpecRoundTripTests: XCTestCase {
    static let hostile = ["n\u{85}el", "c1\u{9B}31m", "q\"u'o", "co: lon", "# hash", "tab\tx", "ls\u{2028}ps\u{2029}", "\u{FEFF}bom", "\u{1B}[2J"]

    func testHostileNamesAndValuesRoundTrip() throws {
        let client = try TestServer.client()
        let database = client.database(TestServer.uniqueDatabaseName("starter"))
        defer { try? database.drop() }
        let collectionName = "we\u{85}ird\u{FEFF} \"c\": #\u{9B}"
        let fields = Self.hostile.map { "f " + $0 }
        let documents = (0..<40).map { i -> Document in
            var document = Document()
            for (offset, field) in fields.enumerated() { document.append(field, .string(Self.hostile[(i + offset) % 3 + offset % 6])) }
            document.append("k\u{85}ey", .string("id\u{85}\(i)\u{FEFF}"))
            document.append("\u{FEFF}leading", .int32(1))
            return document
        }
        try database.collection(collectionName).insertMany(documents)
        try database.runCommand(["createIndexes": .string(collectionName), "indexes": [["key": ["k\u{85}ey": 1], "name": "odd\u{85}# name", "unique": true]]])
        // Options written as JSON documents: a double keeps its type, hostile keys keep their text.
        try database.runCommand([
            "createIndexes": .string(collectionName),
            "indexes": [
                ["key": ["f # hash": 1], "name": "partial", "partialFilterExpression": ["s\u{85}core": ["$gt": .double(5)], "f co: lon": ["$exists": true]]],
                ["key": ["f co: lon": -1], "name": "collated", "collation": ["locale": "fr", "strength": 2]],
            ],
        ])

        let text = try StarterSpec().generate(from: database).text
        XCTAssertFalse(
            text.unicodeScalars.contains { $0.value == 0x85 || $0.value == 0xFEFF || (0x80...0x9F).contains($0.value) || $0 == "\u{1B}" },
            "no raw control characters in the file:\n\(text)")
        let spec = try AuditSpec(text: text, file: "starter.yml")

        let required = try XCTUnwrap(spec.checks.lazy.compactMap { $0.check as? RequiredCollectionsCheck }.first)
        XCTAssertEqual(required.names, [collectionName])
        let completeness = try XCTUnwrap(spec.checks.lazy.compactMap { $0.check as? FieldCompletenessCheck }.first)
        XCTAssertEqual(completeness.collectionName, collectionName)
        XCTAssertEqual(Set(completeness.rules.map(\.path)), Set(fields + ["k\u{85}ey"]), "a name starting with U+FEFF is left out")
        let unique = spec.checks.compactMap { $0.check as? UniqueValuesCheck }
        XCTAssertEqual(unique.map(\.collectionName), [collectionName])
        let values = try XCTUnwrap(spec.checks.lazy.compactMap { $0.check as? ValueRulesCheck }.first)
        // A value starting with U+FEFF cannot be read back (Yams drops it): sets holding one are not proposed.
        let sets = values.rules.map(\.allowedStrings)
        let setsSeen = fields.indices.map { offset in Set((0..<40).map { Self.hostile[($0 + offset) % 3 + offset % 6] }) }
        XCTAssertEqual(Set(sets), Set(setsSeen.filter { !$0.contains("\u{FEFF}bom") }))
        XCTAssertTrue(sets.contains(["n\u{85}el", "c1\u{9B}31m", "q\"u'o"]), "\(sets)")
        XCTAssertEqual(sets.count, 8, "one field of nine holds the value starting with U+FEFF")
        for comment in text.split(separator: "\n") where comment.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
            XCTAssertFalse(comment.contains("\u{2028}") || comment.contains("\t"), "one-line comment: \(comment)")
        }

        // The spec passes on its database: every name and value matched what is stored.
        let report = try Auditor(spec: spec).run(on: client, database: database.name, failOn: .low)
        XCTAssertEqual(report.outcome, .passed, report.allFindings.filter { $0.severity > .info }.map(\.id).description)
        XCTAssertEqual(report.checks.filter { $0.status == .passed }.count, spec.checks.count)
    }
}
