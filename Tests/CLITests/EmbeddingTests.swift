import Foundation
import MongoKit
import SampleData
import TestSupport
import XCTest

/// Another package depends on this one at a version tag, registers a check of its own beside the built-in
/// ones and audits a real server through the public API (Examples/CustomCheck). SwiftPM refuses a
/// dependency at a version whose products carry unsafe build flags, so this also keeps them out.
final class EmbeddingTests: XCTestCase {
    func testAPackageDependingOnAuditKitByVersionRegistersItsOwnCheckAndAudits() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("embedding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // This working tree as a git repository tagged 0.2.0: what a consumer resolves.
        let library = scratch.appendingPathComponent("mongo-audit")
        try FileManager.default.createDirectory(at: library, withIntermediateDirectories: true)
        for item in ["Package.swift", "Sources", "Tests"] {
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent(item), to: library.appendingPathComponent(item))
        }
        let git = { (arguments: [String]) throws in
            let result = try runProcess(
                "/usr/bin/env", ["git", "-C", library.path, "-c", "user.name=test", "-c", "user.email=test@example.invalid"] + arguments)
            XCTAssertEqual(result.status, 0, "git \(arguments): \(result.stderr)")
        }
        try git(["init", "-q"])
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", "snapshot"])
        try git(["tag", "0.2.0"])

        let consumer = scratch.appendingPathComponent("consumer")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Examples/CustomCheck"), to: consumer)
        var environment = ProcessInfo.processInfo.environment
        environment["MONGO_AUDIT_PACKAGE"] = library.absoluteString
        let build = try runProcess(
            "/usr/bin/env", ["swift", "build", "--package-path", consumer.path, "--scratch-path", consumer.appendingPathComponent(".build").path],
            environment: environment)
        XCTAssertEqual(build.status, 0, build.stdout + build.stderr)
        guard build.status == 0 else { return }
        let binary = consumer.appendingPathComponent(".build/debug/audit-with-custom-check").path

        let client = try TestServer.client()
        let database = TestServer.uniqueDatabaseName("embedding")
        defer { try? client.database(database).drop() }
        try SampleDatabase(recordingCount: 500).create(in: client.database(database))

        // A spec built in code: built-in checks and the application's own one.
        let inCode = try runProcess(binary, [database])
        XCTAssertEqual(inCode.status, 1, inCode.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inCode.stdout.utf8)) as? [String: Any], inCode.stderr)
        XCTAssertEqual(report["tool"] as? String, "audit-with-custom-check")
        let checks = try XCTUnwrap(report["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.compactMap { $0["check"] as? String }, ["required_collections", "critical_indexes", "unique_values", "minimum_documents"])
        let ids = checks.flatMap { ($0["findings"] as? [[String: Any]]) ?? [] }.compactMap { $0["id"] as? String }
        XCTAssertTrue(ids.contains("minimum_documents/recordings/too_few_documents"), "\(ids)")
        XCTAssertTrue(ids.contains("critical_indexes/recordings/missing_index/{uuid: 1}"), "\(ids)")
        XCTAssertTrue(ids.contains("unique_values/recordings/duplicate_values/uuid"), "\(ids)")

        // A YAML spec naming the registered check, and the file, line and field of a bad option of it.
        let spec = scratch.appendingPathComponent("spec.yml")
        try "version: 1\nchecks:\n  - check: minimum_documents\n    collection: recordings\n    min: 10\n".write(to: spec, atomically: true, encoding: .utf8)
        let passing = try runProcess(binary, [database, spec.path])
        XCTAssertEqual(passing.status, 0, passing.stdout + passing.stderr)
        try "version: 1\nchecks:\n  - check: minimum_documents\n    collection: recordings\n    min: many\n".write(to: spec, atomically: true, encoding: .utf8)
        let invalid = try runProcess(binary, [database, spec.path])
        XCTAssertNotEqual(invalid.status, 0)
        XCTAssertTrue(invalid.stderr.contains("spec.yml:5:10: checks[0].min"), invalid.stderr)
    }
}
