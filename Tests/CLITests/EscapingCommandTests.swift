import Foundation
import MongoKit
import TestSupport
import XCTest

/// Names from the database, the spec and the migration files through the built binary: no raw control or C1
/// byte reaches the terminal from any command that prints them, and no GitHub workflow command is forged.
final class EscapingCommandTests: XCTestCase {
    var client: MongoClient!
    var databases: [String] = []

    override func setUpWithError() throws { client = try TestServer.client() }

    override func tearDownWithError() throws {
        for name in databases { try? client.database(name).drop() }
    }

    /// A database of the test's, dropped when it ends.
    func database(_ name: String) -> MongoDatabase {
        databases.append(name)
        return client.database(name)
    }

    /// Scalars that act on a terminal or a log viewer: C0 other than the line feed, DEL and C1.
    static func acting(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E }
    }

    static let hostileCollection = "rec\u{1B}[2J\u{9B}31m\u{202E}"
    static let hostileField = "f\u{1B}]0;pwned\u{7}"
    /// The names in YAML double quotes, whose escapes (`\e`, `\a`, `\x9b`, `\u202e`) give the same scalars.
    static let spec = """
        version: 1
        checks:
          - check: required_collections
            collections: ["rec\\e[2J\\x9b31m\\u202e", "missing\\e[31m"]
          - check: field_completeness
            collection: "rec\\e[2J\\x9b31m\\u202e"
            fields: {"f\\e]0;pwned\\a": {min_complete: 1.0}}

        """

    func testGitHubOutputOfADatabaseNamedWithANewlineForgesNoCommand() throws {
        let name = TestServer.uniqueDatabaseName("gh") + "\n::error::x"
        try database(name).runCommand(["insert": "other", "documents": [["a": 1]]])
        let spec = try temporaryFile(Self.spec, name: "hostile.yml")
        let result = try runProcess(
            try mongoAuditBinary(), ["audit", "--uri", try TestServer.uri(), "--database", name, "--spec", spec.path, "--format", "github"])
        XCTAssertEqual(result.status, 1, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertFalse(lines.contains { $0.hasPrefix("::error::x") }, result.stdout)
        for line in lines where line.hasPrefix("::") {
            XCTAssertTrue(line.hasPrefix("::error file=") || line.hasPrefix("::warning file=") || line.hasPrefix("::notice "), String(line))
        }
        XCTAssertTrue(result.stdout.hasSuffix("\\u{a}::error::x failed\n"), result.stdout)
        XCTAssertEqual(Self.acting(result.stdout), [])
    }

    func testTerminalOutputsShowHostileNamesVisibly() throws {
        let prefix = TestServer.uniqueDatabaseName("term")
        let names = [prefix + "_a", prefix + "_b\u{1B}[31m"]
        for name in names {
            try database(name).runCommand([
                "insert": .string(Self.hostileCollection), "documents": [.document(Document([(Self.hostileField, .int32(1))])), ["g": 1]],
            ])
        }
        let spec = try temporaryFile(Self.spec, name: "hostile.yml")
        let binary = try mongoAuditBinary()
        let uri = try TestServer.uri()
        let runs: [[String]] = [
            ["audit", "--uri", uri, "--database", names[1], "--spec", spec.path],
            ["audit", "--uri", uri, "--database", names[1], "--spec", spec.path, "--color", "always"],
            ["audit", "--uri", uri, "--database", names[1], "--spec", spec.path, "--plan"],
            ["audit", "--uri", uri, "--database", names[0], "--database", names[1], "--spec", spec.path],
            ["audit", "--uri", uri, "--database", names[0], "--database", names[1], "--spec", spec.path, "--format", "markdown"],
            ["profile", "--uri", uri, "--database", names[1]],
        ]
        for arguments in runs {
            let result = try runProcess(binary, arguments)
            XCTAssertNotEqual(result.status, 2, "\(arguments): \(result.stderr)")
            var output = result.stdout
            if arguments.contains("always") { output = output.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression) }
            XCTAssertEqual(Self.acting(output + result.stderr), [], "\(arguments):\n\(output)\(result.stderr)")
            let shown = arguments.contains("markdown") ? "rec\\\\u{1b}\\[2J\\\\u{9b}31m\\\\u{202e}" : "rec\\u{1b}[2J\\u{9b}31m\\u{202e}"
            XCTAssertTrue(output.contains(shown), "\(arguments): the name is shown, escaped:\n\(output)")
        }
        let multi = try runProcess(binary, runs[3])
        XCTAssertTrue(multi.stdout.contains("not passed: \(names[0]), \(prefix)_b\\u{1b}[31m (exit 1)"), multi.stdout)
    }

    func testMigrationTitlesAndDescriptionsAreEscapedInPlanAndStatus() throws {
        let name = TestServer.uniqueDatabaseName("migesc")
        _ = database(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let migration =
            "description: \"line one\\nline two \\e[31m\\x9b2J\"\nup:\n  - create_indexes:\n      collection: \"c\\e]0;x\\a\"\n      indexes: [{keys: {a: 1}}]\n"
        try migration.write(to: directory.appendingPathComponent("0001_t\u{1B}[31m\u{9B}x.yml"), atomically: true, encoding: .utf8)
        let binary = try mongoAuditBinary()
        for command in ["plan", "status", "apply", "status"] {
            let result = try runProcess(binary, ["migrate", command, "--uri", try TestServer.uri(), "--database", name, "--dir", directory.path])
            XCTAssertEqual(result.status, 0, "\(command): \(result.stdout)\(result.stderr)")
            XCTAssertEqual(Self.acting(result.stdout + result.stderr), [], "\(command):\n\(result.stdout)\(result.stderr)")
            XCTAssertTrue(result.stdout.contains("t\\u{1b}[31m\\u{9b}x"), "\(command): the title is shown, escaped:\n\(result.stdout)")
            if command == "plan" {
                XCTAssertTrue(result.stdout.contains("  line one\nline two \\u{1b}[31m\\u{9b}2J\n"), "a description keeps its lines:\n\(result.stdout)")
            }
        }
    }
}
