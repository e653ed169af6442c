import MongoKit
import XCTest

@testable import MigrationKit

/// Every index option written by `migrate emit`'s template reads back the same, and shows in the plan.
final class MigrationIndexOptionTests: XCTestCase {
    func testTheTemplateWritesEveryOptionSoTheMigrationReadsItBack() throws {
        let indexes = [
            IndexSpec(
                keys: [IndexKey(field: "site", direction: 1), IndexKey(field: "start_time", direction: -1)], name: "site start",
                unique: true, sparse: true, partialFilterExpression: ["deleted": false],
                collation: ["locale": "en", "strength": 2], hidden: true),
            IndexSpec(keys: [IndexKey(field: "expires_at", direction: 1)], expireAfterSeconds: 3600),
            IndexSpec(keys: [IndexKey(field: "title", kind: "text")]),
        ]
        for option in IndexSpec.options {
            XCTAssertTrue(indexes.contains { option.value(in: $0) != nil }, option.specName)
        }
        let text = MigrationTemplate.createIndexes([("recordings", indexes)], description: "all options")
        let migration = try Migration(text: text, file: "0001_all.yml", version: 1, title: "all", checksum: "x")
        XCTAssertEqual(migration.up.map(\.operation), [.createIndexes(collection: "recordings", indexes: indexes)], text)

        let summary = migration.up[0].operation.summary
        for option in IndexSpec.options { XCTAssertTrue(summary.contains(option.specName), "\(option.specName): \(summary)") }
        XCTAssertEqual(
            migration.up[0].operation.command(),
            ["createIndexes": "recordings", "indexes": .array(indexes.map { .document($0.document) })])
    }

    /// Names with quotes, backslashes, newlines and control characters are written so that YAML reads
    /// back the same text (a raw newline inside double quotes would fold into a space).
    func testOddNamesReadBackAsTheSameText() throws {
        let collection = "rec \"ord\"\\ings\nnext\tline\u{1B}"
        let indexes = [IndexSpec(keys: [IndexKey(field: "a\"b\nc", direction: 1)], name: "odd \\ \"name\"\n")]
        let text = MigrationTemplate.createIndexes([(collection, indexes)], description: "odd \"text\"\n")
        let migration = try Migration(text: text, file: "0001_odd.yml", version: 1, title: "odd", checksum: "x")
        XCTAssertEqual(migration.up.map(\.operation), [.createIndexes(collection: collection, indexes: indexes)], text)
    }

    /// The characters YAML reads differently from JSON inside double quotes (NEL, the line and paragraph
    /// separators are line breaks to YAML and fold; C1 controls and a BOM are not printable) read back as
    /// themselves too.
    func testYAMLLineBreaksAndNonPrintablesReadBackAsTheSameText() throws {
        let odd = ["a\u{85}b", "c\u{2028}d\u{2029}e", "f\u{9B}g\u{80}h\u{7F}", "i\u{FEFF}j", "k\u{FFFE}l", "m: n # o", "- p", "yes"]
        for name in odd {
            let indexes = [IndexSpec(keys: [IndexKey(field: name, direction: 1)], name: name)]
            let text = MigrationTemplate.createIndexes([(name, indexes)], description: name)
            let migration = try Migration(text: text, file: "0001_odd.yml", version: 1, title: "odd", checksum: "x")
            XCTAssertEqual(migration.up.map(\.operation), [.createIndexes(collection: name, indexes: indexes)], text)
            XCTAssertEqual(migration.description, name, text)
        }
    }
}
