import Foundation
import TestSupport
import XCTest

/// `--verbose` shows libmongoc's own log on stderr (through swift-log), and never a password.
final class VerboseLoggingTests: XCTestCase {
    func testVerboseShowsTheDriverLogWithoutThePassword() throws {
        let server = try LaunchedMongod(arguments: ["--auth"])
        defer { server.stop() }
        let password = "v3rb0se-pa55"
        try server.client().database("admin").runCommand(["createUser": "admin", "pwd": .string(password), "roles": ["root"]])
        let binary = try mongoAuditBinary()
        let spec = repositoryRoot.appendingPathComponent("Checks/mongo-audit.yml").path
        // An option libmongoc does not know, named like the password: libmongoc names it in a log line.
        let uri = server.uri(user: "admin", password: password) + "&\(password)=1"

        let verbose = try runProcess(binary, ["audit", "--verbose", "--spec", spec, "--database", "sample", "--uri", uri])
        XCTAssertEqual(verbose.status, 1, verbose.stdout + verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("mongo-audit.libmongoc"), verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("Unsupported URI option \"*****\""), verbose.stderr)
        XCTAssertFalse((verbose.stdout + verbose.stderr).contains(password), verbose.stdout + verbose.stderr)

        // Without --verbose libmongoc's chatter stays off stderr.
        let quiet = try runProcess(binary, ["audit", "--spec", spec, "--database", "sample", "--uri", uri])
        XCTAssertEqual(quiet.status, 1, quiet.stdout + quiet.stderr)
        XCTAssertEqual(quiet.stderr, "")

        // A wrong password, with every debug line: it appears nowhere either.
        let wrongPassword = "Wr0ng-V3rb0se"
        let wrong = try runProcess(
            binary, ["audit", "--verbose", "--spec", spec, "--uri", server.uri(user: "admin", password: wrongPassword)])
        XCTAssertEqual(wrong.status, 4, wrong.stderr)
        XCTAssertFalse((wrong.stdout + wrong.stderr).contains(wrongPassword), wrong.stderr)
    }
}
